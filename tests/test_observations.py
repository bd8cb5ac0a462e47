"""combine_observations and sort_observations: the order of the reference sort (pandas sort_values on
the texts), whichever way the rows are put in order (integer codes, sliced sorted blocks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qpv_observatory.errors import SourceFileError
from qpv_observatory.observations import (LEVEL_ORDER, combine_observations, conform, empty_observations,
                                          sort_observations)


def reference_sort(frame: pd.DataFrame) -> pd.DataFrame:
    order = frame["territory_level"].map(LEVEL_ORDER).fillna(len(LEVEL_ORDER))
    return (frame.assign(_level_order=order)
            .sort_values(["indicator_id", "year", "source", "_level_order", "territory_level", "territory_code"],
                         kind="mergesort")
            .drop(columns="_level_order").reset_index(drop=True))


def observations(seed: int, rows: int, source: str) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    levels = np.array(["qpv", "commune", "epci", "unite_urbaine", "france"], dtype=object)
    frame = pd.DataFrame({
        "indicator_id": generator.choice(["taux_pauvrete", "part_jeunes", "Été", "a"], rows),
        "territory_code": [f"{code:05d}" for code in generator.permutation(rows)],
        "territory_level": levels[generator.integers(0, len(levels), rows)],
        "year": generator.choice([2019, 2020], rows), "value": generator.random(rows), "status": "ok",
        "marker": None, "source": source, "source_label": source.upper(), "vintage": 2020,
        "source_file": f"data/raw/{source}.csv", "source_row": np.arange(2, rows + 2),
    })
    return conform(frame)


@pytest.mark.parametrize("rows", [1, 7, 500])
def test_sort_gives_the_reference_order(rows):
    frame = observations(rows, rows, "insee_rp")
    pd.testing.assert_frame_equal(sort_observations(frame), reference_sort(frame), check_exact=True)


def test_sorted_frames_put_end_to_end_are_sliced_into_the_same_order():
    frames = [sort_observations(observations(seed, 300, source)) for seed, source in ((1, "cnaf"), (2, "cnam"))]
    combined = combine_observations(frames[::-1])
    pd.testing.assert_frame_equal(combined, reference_sort(pd.concat(frames, ignore_index=True)), check_exact=True)
    # Already in order: the same frame comes back.
    pd.testing.assert_frame_equal(sort_observations(combined), combined, check_exact=True)


def test_no_rows():
    pd.testing.assert_frame_equal(combine_observations([]), empty_observations())
    pd.testing.assert_frame_equal(sort_observations(empty_observations()), empty_observations())


def test_a_repeated_figure_names_both_places():
    first = observations(3, 50, "cnaf")
    second = first.iloc[[10, 20]].assign(source_file="data/raw/autre.csv", source_row=[7, 9])
    with pytest.raises(SourceFileError, match="déjà lue dans data/raw/cnaf.csv, ligne 12") as caught:
        combine_observations([first, second])
    assert (caught.value.file, caught.value.line) == ("data/raw/autre.csv", 7)
