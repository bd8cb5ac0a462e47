"""The canonical long table of observations: one published figure per row.

A figure is always "indicator, territory, year, source"; its status says whether the value is a
number (ok) or a published marker (secret, not available...), in which case the value is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from qpv_observatory.errors import SourceFileError
from qpv_observatory.territories import COMMUNE, EPCI, QPV

OBSERVATION_DTYPES = {
    "indicator_id": "str",
    "territory_code": "str",
    "territory_level": "str",
    "year": "int64",
    "value": "Float64",  # nullable: a secret cell is NULL in DuckDB, never NaN or 0
    "status": "str",
    "marker": "str",  # text as published when not a number ('s', 'nd'...), else empty
    "source": "str",
    "source_label": "str",
    "vintage": "int64",
    "source_file": "str",
    "source_row": "int64",
    # Optional: where the source gives them, so that rates can be aggregated honestly.
    "numerator": "Float64",
    "denominator": "Float64",
    "period": "str",  # sub-annual period as published ("2024-T4"), empty for yearly figures
    # The source's quality flag for the row, as published ("NOTE_CNAF=5" in INSEE's QPV tables).
    "quality_note": "str",
}
# Columns a reader may leave out: they are filled with empty values.
OPTIONAL_COLUMNS = ("numerator", "denominator", "period", "quality_note")
# The level is part of a territory's identity: a département and a region may share a code ("02").
OBSERVATION_KEY = ["indicator_id", "territory_level", "territory_code", "year", "source"]
LEVEL_ORDER = {QPV: 0, COMMUNE: 1, EPCI: 2}
# Up to this many sorted blocks, sort_observations slices them instead of copying every row.
SLICED_RUNS = 64


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in OBSERVATION_DTYPES.items()})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Exactly the canonical columns, in order, with their types (an empty text stays NULL, never
    the text 'None')."""
    if list(frame.columns) == list(OBSERVATION_DTYPES) and all(
            frame[name].dtype == pd.api.types.pandas_dtype(dtype) for name, dtype in OBSERVATION_DTYPES.items()):
        return frame.copy(deep=False)  # conformed already (a reader's output): nothing to convert or copy
    frame = frame.assign(**{c: _empty_column(OBSERVATION_DTYPES[c], len(frame))
                            for c in OPTIONAL_COLUMNS if c not in frame.columns})
    missing = [c for c in OBSERVATION_DTYPES if c not in frame.columns]
    if missing:
        raise ValueError(f"observation frame lacks columns {missing}")
    return pd.DataFrame({name: _typed(frame[name], dtype) for name, dtype in OBSERVATION_DTYPES.items()},
                        index=frame.index)


def _typed(column: pd.Series, dtype: str):
    if dtype == "str" and column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string":
        return text_array(column.to_numpy())
    return column.astype(dtype)


def _empty_column(dtype: str, length: int):
    """A column of empty values of the canonical type (NULL in DuckDB)."""
    if dtype == "str":
        return pd.array(pa.nulls(length, pa.large_string()), dtype="str")
    if dtype == "Float64":
        return pd.arrays.FloatingArray(np.zeros(length), np.ones(length, dtype=bool))
    raise ValueError(f"no empty column of type {dtype}")


def text_array(cells: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """An object array of texts (None or NaN for empty) as the canonical text type, as
    ``astype("str")`` gives it, without converting millions of Python strings one by one."""
    codes, distinct = pd.factorize(cells)
    return text_from_codes(codes, distinct)


def text_from_codes(codes: np.ndarray, labels) -> pd.api.extensions.ExtensionArray:
    """Texts of the canonical type from integer codes into ``labels`` (-1: empty)."""
    dictionary = pa.array([str(label) for label in labels], type=pa.large_string())
    return pd.array(dictionary.take(pa.array(codes, mask=codes < 0)), dtype="str")


def combine_observations(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate readers' outputs; refuse two figures for the same key, naming both places."""
    frames = [conform(f) for f in frames if len(f)]
    if not frames:
        return empty_observations()
    combined = pd.concat(frames, ignore_index=True)
    codes = {column: _sorted_codes(combined[column]) for column in OBSERVATION_KEY}
    repeated = np.flatnonzero(pd.DataFrame(codes).duplicated(keep="first").to_numpy())
    if len(repeated):
        later = combined.iloc[repeated[0]]
        same_key = np.logical_and.reduce([codes[c] == codes[c][repeated[0]] for c in OBSERVATION_KEY])
        earlier = combined.iloc[np.argmax(same_key)]
        raise SourceFileError(
            str(later.source_file),
            f"valeur en double pour l'indicateur {later.indicator_id}, le territoire {later.territory_code} "
            f"({later.territory_level}), "
            f"l'année {later.year} et la source {later.source} (déjà lue dans {earlier.source_file}, "
            f"ligne {earlier.source_row})",
            line=int(later.source_row),
        )
    return sort_observations(combined, codes)


def sort_observations(frame: pd.DataFrame, codes: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """A stable order, so that two runs on the same files write identical tables: by indicator,
    year, source, level (QPV, commune, EPCI, then the others by name) and territory code.

    ``codes`` may hold the columns' sorted codes when the caller has them already."""
    codes = codes or {}

    def key(column: str) -> np.ndarray:
        return codes[column] if column in codes else _sorted_codes(frame[column])

    levels, distinct_levels = pd.factorize(frame["territory_level"])
    level_ranks = np.array([LEVEL_ORDER.get(level, len(LEVEL_ORDER)) for level in distinct_levels]
                           + [len(LEVEL_ORDER)])[levels]  # -1 (no level) ranks with the unknown ones
    # np.lexsort is stable (rows with equal keys keep their order) and takes the last key first.
    order = np.lexsort([key("territory_code"), key("territory_level"), level_ranks, key("source"), key("year"),
                        key("indicator_id")])
    runs = np.flatnonzero(np.diff(order) != 1) + 1  # where the order stops following the rows
    if len(order) and len(runs) < SLICED_RUNS:
        # A few sorted blocks (sorted frames put end to end): the blocks are sliced, not copied.
        bounds = zip(np.concatenate([[0], runs]), np.concatenate([runs, [len(order)]]))
        return pd.concat([frame.iloc[order[start]:order[start] + end - start] for start, end in bounds],
                         ignore_index=True)
    return frame.take(order).reset_index(drop=True)


def _sorted_codes(column: pd.Series) -> np.ndarray:
    """Integers that sort as the column's values do, empty values last (as sort_values puts them)."""
    codes, distinct = pd.factorize(column, sort=True)
    return np.where(codes < 0, len(distinct), codes)
