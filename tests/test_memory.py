"""Memory between runs: frames left in reference cycles are freed, and the process is left as found."""

import gc
import weakref

import numpy as np
import pytest

from pipelines.memory import collect_cycles, long_lived_objects_set_aside, release_freed_memory


class Holder:
    """A frame held only by a reference cycle, as great-expectations leaves validated frames."""

    def __init__(self):
        self.values = np.zeros(1_000_000)
        self.me = self


@pytest.mark.parametrize("free", [collect_cycles, release_freed_memory])
def test_a_frame_held_by_a_cycle_is_freed_after_the_long_lived_objects_are_set_aside(free):
    with long_lived_objects_set_aside():
        assert gc.get_freeze_count() > 0
        holder = weakref.ref(Holder())
        assert holder() is not None  # a cycle: not freed by reference counting
        free()
        assert holder() is None
    assert gc.get_freeze_count() == 0


def test_the_objects_are_unfrozen_even_when_the_block_fails():
    with pytest.raises(RuntimeError):
        with long_lived_objects_set_aside():
            raise RuntimeError("échec d'une exécution")
    assert gc.get_freeze_count() == 0
