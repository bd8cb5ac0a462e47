"""Gaps between each QPV and its comparison territories (commune, EPCI), per indicator and year.

Only figures of the same indicator, year and source are compared. A gap is computed only when
both values are published numbers: a secret or missing cell yields an empty gap, never a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import COMMUNE, EPCI, QPV
from qpv_observatory.values import OK

GAP_COLUMNS = [
    "qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label",
    "comparison_level", "comparison_code", "comparison_name",
    "qpv_value", "qpv_status", "comparison_value", "comparison_status",
    "gap", "gap_unit", "ratio", "qpv_situation",
]
# Comparison levels reached from a QPV through the referential, and the link column to follow.
LINKED_LEVELS = ((COMMUNE, "commune_code"), (EPCI, "epci_code"))
# Published values carry at most two decimals: rounding removes float noise (58.8 - 48.8).
PRECISION = 6

NO_COMPARISON_VALUE = "absent"  # no source file has a row for the comparison territory


def _situation(gap: pd.Series, polarity: pd.Series) -> pd.Series:
    """Whether the QPV is worse or better off than the comparison territory, per the indicator's polarity."""
    value = gap.astype("float64").to_numpy()  # NA -> NaN, so that no comparison is made on it
    worse_if_higher = np.where(polarity.to_numpy() == "higher_is_better", -1.0, 1.0)
    signed = value * worse_if_higher
    situation = np.select(
        [np.isnan(value), polarity.to_numpy() == "neutral", signed > 0, signed < 0],
        [None, "neutral", "unfavourable", "favourable"],
        default="equal",
    )
    return pd.Series(situation, index=gap.index, dtype="str").where(~np.isnan(value), None)


def compute_gaps(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame) -> pd.DataFrame:
    names = referential.territories.set_index(["territory_code", "territory_level"])["name"]
    qpv = observations[observations["territory_level"] == QPV]
    key = ["indicator_id", "year", "source"]
    parts = []
    for level, link_column in LINKED_LEVELS:
        pairs = referential.qpv_links[["qpv_code", link_column]].drop_duplicates()
        linked = qpv.merge(pairs, left_on="territory_code", right_on="qpv_code")
        comparison = observations[observations["territory_level"] == level][key + ["territory_code", "value", "status"]]
        merged = linked.merge(comparison, how="left", left_on=key + [link_column], right_on=key + ["territory_code"],
                              suffixes=("_qpv", "_cmp"))
        parts.append(pd.DataFrame({
            "qpv_code": merged["qpv_code"],
            "indicator_id": merged["indicator_id"],
            "year": merged["year"],
            "source": merged["source"],
            "source_label": merged["source_label"],
            "comparison_level": level,
            "comparison_code": merged[link_column],
            "qpv_value": merged["value_qpv"],
            "qpv_status": merged["status_qpv"],
            "comparison_value": merged["value_cmp"],
            "comparison_status": merged["status_cmp"].fillna(NO_COMPARISON_VALUE),
        }))
    gaps = pd.concat(parts, ignore_index=True)
    both_ok = (gaps["qpv_status"] == OK) & (gaps["comparison_status"] == OK)
    gaps["gap"] = (gaps["qpv_value"] - gaps["comparison_value"]).where(both_ok).round(PRECISION)
    nonzero = both_ok & (gaps["comparison_value"] != 0)
    gaps["ratio"] = (gaps["qpv_value"] / gaps["comparison_value"].where(nonzero)).where(nonzero).round(PRECISION)
    meta = indicators.set_index("indicator_id")
    gaps["gap_unit"] = gaps["indicator_id"].map(meta["unit"]).replace({"%": "points"})
    gaps["qpv_situation"] = _situation(gaps["gap"], gaps["indicator_id"].map(meta["polarity"]))
    gaps["qpv_name"] = [names.get((c, QPV)) for c in gaps["qpv_code"]]
    gaps["comparison_name"] = [names.get((c, lvl)) for c, lvl in zip(gaps["comparison_code"], gaps["comparison_level"])]
    gaps = gaps.astype({"gap": "Float64", "ratio": "Float64", "qpv_value": "Float64", "comparison_value": "Float64"})
    return (gaps[GAP_COLUMNS]
            .sort_values(["indicator_id", "year", "source", "qpv_code", "comparison_level", "comparison_code"], kind="mergesort")
            .reset_index(drop=True))


def gap_portrait(gaps: pd.DataFrame) -> pd.DataFrame:
    """One row per QPV, indicator, year and source, comparison levels side by side (the published tables' shape)."""
    index = ["qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label", "qpv_value", "qpv_status"]
    out = gaps[index].drop_duplicates(["qpv_code", "indicator_id", "year", "source"]).set_index(index[:6])
    for level, _ in LINKED_LEVELS:
        # A QPV spanning several communes is compared with each; the portrait keeps the first
        # commune in code order, the long table keeps them all.
        level_rows = (gaps[gaps["comparison_level"] == level]
                      .drop_duplicates(["qpv_code", "indicator_id", "year", "source"])
                      .set_index(index[:6]))
        for column in ("comparison_code", "comparison_value", "comparison_status", "gap", "ratio"):
            out[f"{level}_{column.removeprefix('comparison_')}"] = level_rows[column]
    return out.reset_index().sort_values(["indicator_id", "year", "source", "qpv_code"], kind="mergesort").reset_index(drop=True)
