"""Memory between the runs of a refresh, which all execute in the refresh's process.

great-expectations leaves each validated frame in reference cycles (batch, validator, execution
engine) that Python's collector reaches only in its rare full passes: over ten millésimes and the
series' parts, gigabytes of frames wait there. A full pass walks every object of the process
(0.2 s with dagster, pandas and great-expectations loaded), unless the objects that live as long as
the process (modules, definitions) are first set aside with ``gc.freeze``: then it costs about a
millisecond, and can follow every run and every part of a large validation.
"""

from __future__ import annotations

import ctypes
import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def long_lived_objects_set_aside() -> Iterator[None]:
    """Within the block, a full pass of the collector walks only the objects made inside it."""
    from qpv_observatory.validation import import_great_expectations

    import_great_expectations()  # loaded before the freeze: every refresh validates

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def collect_cycles() -> None:
    """After a suite or a part of a large validation: free the frames left in cycles. Their memory
    stays with the allocators, for the next step to reuse (given back to the system, it would have to
    be asked for again, page by page)."""
    gc.collect()


def release_freed_memory() -> None:
    """After a run: free the frames left in cycles, and give back to the system the memory the
    allocators keep (otherwise the next run, or the publication's DuckDB, adds its own on top)."""
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc (Linux); elsewhere the system allocator decides
    except (OSError, AttributeError):
        pass
