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
}
# Columns a reader may leave out: they are filled with empty values.
OPTIONAL_COLUMNS = ("numerator", "denominator", "period")
OBSERVATION_KEY = ["indicator_id", "territory_code", "year", "source"]
LEVEL_ORDER = {QPV: 0, COMMUNE: 1, EPCI: 2}


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in OBSERVATION_DTYPES.items()})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Exactly the canonical columns, in order, with their types (an empty text stays NULL, never
    the text 'None')."""
    frame = frame.assign(**{c: None for c in OPTIONAL_COLUMNS if c not in frame.columns})
    missing = [c for c in OBSERVATION_DTYPES if c not in frame.columns]
    if missing:
        raise ValueError(f"observation frame lacks columns {missing}")
    return pd.DataFrame({name: text_array(frame[name].to_numpy()) if dtype == "str" and frame[name].dtype == object
                         else frame[name].astype(dtype) for name, dtype in OBSERVATION_DTYPES.items()},
                        index=frame.index)


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
    repeated = combined[combined.duplicated(OBSERVATION_KEY, keep="first")]
    if len(repeated):
        later = repeated.iloc[0]
        same_key = (combined[OBSERVATION_KEY] == later[OBSERVATION_KEY]).all(axis=1)
        earlier = combined[same_key].iloc[0]
        raise SourceFileError(
            str(later.source_file),
            f"valeur en double pour l'indicateur {later.indicator_id}, le territoire {later.territory_code}, "
            f"l'année {later.year} et la source {later.source} (déjà lue dans {earlier.source_file}, "
            f"ligne {earlier.source_row})",
            line=int(later.source_row),
        )
    return sort_observations(combined)


def sort_observations(frame: pd.DataFrame) -> pd.DataFrame:
    """A stable order, so that two runs on the same files write identical tables."""
    order = frame["territory_level"].map(LEVEL_ORDER).fillna(len(LEVEL_ORDER))
    return (frame.assign(_level_order=order)
            .sort_values(["indicator_id", "year", "source", "_level_order", "territory_code"], kind="mergesort")
            .drop(columns="_level_order")
            .reset_index(drop=True))
