"""parse_cells, the column-at-once parser of the readers, gives exactly parse_value's result per cell."""

from __future__ import annotations

import math
import random
import struct

import numpy as np
import pandas as pd
import pytest

from qpv_observatory.values import CellParseError, parse_cells, parse_distinct, parse_value

CELLS = ["45,3", " 1 320 ", "1\u202f320,5", "1\u00a0000", "12.5", "-0", "0", "s", "S", "nd", "n.d.", "ns", "so",
         "", "  ", "-", "secret", "1e3", "+5", ".5", "1_000", 7, 2.5, None, float("nan")]
TEXT_CELLS = [cell for cell in CELLS if isinstance(cell, str)]


def test_same_result_as_parse_value_for_each_cell():
    parsed = parse_cells(CELLS)
    for position, cell in enumerate(CELLS):
        expected = parse_value(cell)
        value = parsed.values[position]
        assert (None if math.isnan(value) else value) == expected.value, cell
        if expected.value is not None:  # the same sign ("-0" is published as 0)
            assert math.copysign(1, value) == math.copysign(1, expected.value), cell
        assert (parsed.statuses[position], parsed.markers[position]) == (expected.status, expected.marker), cell


@pytest.mark.parametrize("bad, position", [(["1", "2,5", "abc", "x"], 2), (["1", "inf"], 1), (["1,2,3"], 0),
                                           (["nan", "1.2,5"], 0), (["1", "NaN"], 1),
                                           # repeated texts are parsed once: the first bad cell is still named
                                           (["2,5", "s", "2,5", "abc", "2,5", "abc", "x"], 3),
                                           ([1.5, "2,5", None, "2,5", "abc"], 4)])
def test_first_bad_cell_is_named_with_parse_value_message(bad, position):
    with pytest.raises(CellParseError) as caught:
        parse_cells(bad)
    assert caught.value.position == position
    with pytest.raises(ValueError) as single:
        parse_value(bad[position])
    assert str(caught.value) == str(single.value)


def test_repeated_texts_give_each_cell_its_own_result():
    cells = ["45,3", "s", "", "45,3", "-0", "1 320", "s", "-0", "nd", "45,3"] * 50
    parsed = parse_cells(cells)
    for position, cell in enumerate(cells):
        expected = parse_value(cell)
        value = parsed.values[position]
        assert (None if math.isnan(value) else value) == expected.value, cell
        assert (parsed.statuses[position], parsed.markers[position]) == (expected.status, expected.marker), cell
    assert math.copysign(1, parsed.values[4]) == 1.0 and parsed.values.dtype == "float64"  # "-0" is 0


def test_no_cell_gives_empty_arrays():
    parsed = parse_cells([])
    assert len(parsed.values) == len(parsed.statuses) == len(parsed.markers) == 0


def test_plain_numbers_converted_together_are_parse_value_numbers_bit_for_bit():
    generator = random.Random(8)

    def digits() -> str:
        return "".join(generator.choice("0123456789") for _ in range(generator.randint(1, 20)))

    cells = ["-0", "-0,0", "00012", "12.5", "-3.25", "1" * 20 + "," + "9" * 20, ",5", "5,", "1,2,3", "1.2,5", "٣"]
    for _ in range(5000):
        cell = digits() + (generator.choice(",.") + digits() if generator.random() < 0.7 else "")
        cells.append(("-" if generator.random() < 0.2 else "") + cell)
    kept = cells[:8] + cells[10:]  # "1,2,3" and "1.2,5" are refused (see above)
    parsed = parse_cells(kept)
    for position, cell in enumerate(kept):
        expected = parse_value(cell)
        assert struct.pack("d", parsed.values[position]) == struct.pack("d", expected.value), cell
        assert (parsed.statuses[position], parsed.markers[position]) == (expected.status, expected.marker), cell


@pytest.mark.parametrize("cells", [TEXT_CELLS, ["2,5", "s", "2,5", "", "-0", "nd", "2,5"]])
def test_a_text_series_is_parsed_as_its_cells(cells):
    series = pd.Series(cells, dtype="str")
    parsed = parse_distinct(series)
    expected = parse_cells(cells)
    assert list(parsed.cells[parsed.codes]) == [str(cell) for cell in cells]
    np.testing.assert_array_equal(parsed.values[parsed.codes], expected.values)
    assert list(parsed.statuses[parsed.codes]) == list(expected.statuses)
    assert list(parsed.markers[parsed.codes]) == list(expected.markers)


def test_a_text_series_names_its_first_bad_cell():
    with pytest.raises(CellParseError) as caught:
        parse_distinct(pd.Series(["1", "abc", "2", "abc", "x"], dtype="str"))
    assert caught.value.position == 1
    with pytest.raises(CellParseError) as caught:  # a missing cell is a blank one; the bad cell is still found
        parse_distinct(pd.Series(["1", None, "2", "x"], dtype="str"))
    assert caught.value.position == 3


def test_a_dot_in_a_decimal_comma_file_is_refused_not_read_as_a_decimal():
    # "1.320" in an INSEE file is 1,320 or 1320: never 1.32 without a word.
    with pytest.raises(CellParseError, match="'1.320' : un point dans un fichier à virgule décimale") as caught:
        parse_distinct(["57 393", "1,5", "1.320"], decimal_comma=True)
    assert caught.value.position == 2
    with pytest.raises(CellParseError, match="un point dans un fichier à virgule décimale"):
        parse_distinct(["1 320.5"], decimal_comma=True)
    assert parse_distinct(["1.320"]).values.tolist() == [1.32]  # a file with decimal points (SIG Ville)
