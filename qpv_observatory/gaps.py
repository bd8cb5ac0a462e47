"""Gaps between each QPV and its comparison territories, per indicator and year.

Comparison territories: the commune and the EPCI (always listed, "absent" when no source has
them); the derived ones (commune hors QPV, EPCI hors QPV, ensemble des QPV du contrat, see
aggregation.py), listed when published or withheld by secrecy (with the reason); the ones read
from sources (unité urbaine, ensemble des QPV de France, France métropolitaine, France), listed
when a source has them.

Only figures of the same indicator, year and source are compared. A gap is computed only when
both values are published numbers: a secret or missing cell yields an empty gap, never a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import (COMMUNE, COMMUNE_HORS_QPV, EPCI, EPCI_HORS_QPV, FRANCE, FRANCE_METRO, QPV,
                                         QPV_CONTRACT, QPV_FRANCE, UNITE_URBAINE)
from qpv_observatory.values import OK, SECRET

GAP_COLUMNS = [
    "qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label",
    "comparison_level", "comparison_code", "comparison_name",
    "qpv_value", "qpv_status", "comparison_value", "comparison_status",
    "gap", "gap_unit", "ratio", "qpv_situation", "comparison_reason",
]
# Comparison levels reached from a QPV through the referential, and the link column to follow.
LINKED_LEVELS = ((COMMUNE, "commune_code"), (EPCI, "epci_code"))
# Derived levels (aggregation.py), reached through the link column to their parent territory.
DERIVED_LEVELS = ((COMMUNE_HORS_QPV, "commune_code"), (EPCI_HORS_QPV, "epci_code"), (QPV_CONTRACT, "epci_code"))
# Levels read from sources: the unité urbaine through an optional link column of the referential,
# the national levels for every QPV.
UNIT_LINK_COLUMN = "unite_urbaine_code"
NATIONAL_LEVELS = (QPV_FRANCE, FRANCE_METRO, FRANCE)
# Column order of the portrait: the published tables' commune and EPCI first.
PORTRAIT_LEVELS = (COMMUNE, EPCI, COMMUNE_HORS_QPV, EPCI_HORS_QPV, QPV_CONTRACT, UNITE_URBAINE, *NATIONAL_LEVELS)
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


def _comparison_rows(qpv: pd.DataFrame, pairs: pd.DataFrame, link_column: str, comparison: pd.DataFrame,
                     level: str, how: str) -> pd.DataFrame:
    """QPV figures beside the comparison territory's figure of the same indicator, year and source.

    ``pairs`` links qpv_code to ``link_column``; ``comparison`` has the key, ``link_column``,
    the comparison code, value, status and reason.
    """
    key = ["indicator_id", "year", "source"]
    linked = qpv.merge(pairs, left_on="territory_code", right_on="qpv_code")
    merged = linked.merge(comparison, how=how, on=key + [link_column], suffixes=("_qpv", "_cmp"))
    return pd.DataFrame({
        "qpv_code": merged["qpv_code"],
        "indicator_id": merged["indicator_id"],
        "year": merged["year"],
        "source": merged["source"],
        "source_label": merged["source_label"],
        "comparison_level": level,
        "comparison_code": merged["comparison_code"].fillna(merged[link_column]),
        "comparison_name": merged["comparison_name"],
        "qpv_value": merged["value_qpv"],
        "qpv_status": merged["status_qpv"],
        "comparison_value": merged["value_cmp"],
        "comparison_status": merged["status_cmp"].fillna(NO_COMPARISON_VALUE),
        "comparison_reason": merged["comparison_reason"],
    })


def compute_gaps(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame,
                 derived: pd.DataFrame | None = None) -> pd.DataFrame:
    """``derived``: the table of aggregation.derive_comparison_territories, when available."""
    territories = referential.territories
    # A plain dict: one look-up per gap row, where a pandas MultiIndex look-up costs microseconds.
    names = dict(zip(zip(territories["territory_code"], territories["territory_level"]), territories["name"]))
    qpv = observations[observations["territory_level"] == QPV]
    key = ["indicator_id", "year", "source"]
    parts = []

    def source_figures(level: str, link_column: str) -> pd.DataFrame:
        rows = observations[observations["territory_level"] == level]
        return pd.DataFrame({**{k: rows[k] for k in key}, link_column: rows["territory_code"],
                             "comparison_code": rows["territory_code"], "comparison_name": None,
                             "value": rows["value"], "status": rows["status"], "comparison_reason": None})

    for level, link_column in LINKED_LEVELS:
        pairs = referential.qpv_links[["qpv_code", link_column]].drop_duplicates()
        parts.append(_comparison_rows(qpv, pairs, link_column, source_figures(level, link_column), level, "left"))
    if derived is not None and len(derived):
        # Listed when published, or withheld by secrecy so that the reason shows beside the QPV;
        # other derived territories that cannot be computed are explained in the derived table only.
        shown = derived[derived["status"].isin([OK, SECRET])]
        for level, link_column in DERIVED_LEVELS:
            rows = shown[shown["territory_level"] == level]
            comparison = pd.DataFrame({**{k: rows[k] for k in key}, link_column: rows["parent_code"],
                                       "comparison_code": rows["territory_code"], "comparison_name": rows["territory_name"],
                                       "value": rows["value"], "status": rows["status"], "comparison_reason": rows["reason"]})
            pairs = referential.qpv_links[["qpv_code", link_column]].drop_duplicates()
            parts.append(_comparison_rows(qpv, pairs, link_column, comparison, level, "inner"))
    if UNIT_LINK_COLUMN in referential.qpv_links.columns:
        pairs = referential.qpv_links[["qpv_code", UNIT_LINK_COLUMN]].dropna().drop_duplicates()
        parts.append(_comparison_rows(qpv, pairs, UNIT_LINK_COLUMN, source_figures(UNITE_URBAINE, UNIT_LINK_COLUMN),
                                      UNITE_URBAINE, "inner"))
    for level in NATIONAL_LEVELS:
        # One territory per national level: every QPV is compared with it.
        pairs = pd.DataFrame({"qpv_code": qpv["territory_code"].unique(), "_all": 1})
        parts.append(_comparison_rows(qpv, pairs, "_all", source_figures(level, "_all").assign(_all=1), level, "inner"))
    gaps = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    both_ok = (gaps["qpv_status"] == OK) & (gaps["comparison_status"] == OK)
    gaps["gap"] = (gaps["qpv_value"] - gaps["comparison_value"]).where(both_ok).round(PRECISION)
    nonzero = both_ok & (gaps["comparison_value"] != 0)
    gaps["ratio"] = (gaps["qpv_value"] / gaps["comparison_value"].where(nonzero)).where(nonzero).round(PRECISION)
    meta = indicators.set_index("indicator_id")
    gaps["gap_unit"] = gaps["indicator_id"].map(meta["unit"]).replace({"%": "points"})
    gaps["qpv_situation"] = _situation(gaps["gap"], gaps["indicator_id"].map(meta["polarity"]))
    gaps["qpv_name"] = [names.get((c, QPV)) for c in gaps["qpv_code"]]
    gaps["comparison_name"] = [given if isinstance(given, str) else names.get((c, lvl)) for given, c, lvl
                               in zip(gaps["comparison_name"], gaps["comparison_code"], gaps["comparison_level"])]
    gaps = gaps.astype({"gap": "Float64", "ratio": "Float64", "qpv_value": "Float64", "comparison_value": "Float64",
                        "comparison_reason": "str"})
    gaps["comparison_reason"] = gaps["comparison_reason"].where(gaps["comparison_reason"].notna(), None)
    return (gaps[GAP_COLUMNS]
            .sort_values(["indicator_id", "year", "source", "qpv_code", "comparison_level", "comparison_code"], kind="mergesort")
            .reset_index(drop=True))


def gap_portrait(gaps: pd.DataFrame) -> pd.DataFrame:
    """One row per QPV, indicator, year and source, comparison levels side by side (the published tables' shape)."""
    index = ["qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label", "qpv_value", "qpv_status"]
    out = gaps[index].drop_duplicates(["qpv_code", "indicator_id", "year", "source"]).set_index(index[:6])
    derived_levels = {level for level, _ in DERIVED_LEVELS}
    for level in PORTRAIT_LEVELS:
        # A QPV spanning several communes is compared with each; the portrait keeps the first
        # commune in code order, the long table keeps them all.
        level_rows = (gaps[gaps["comparison_level"] == level]
                      .drop_duplicates(["qpv_code", "indicator_id", "year", "source"])
                      .set_index(index[:6]))
        columns = ["comparison_code", "comparison_value", "comparison_status", "gap", "ratio"]
        if level in derived_levels:
            columns.append("comparison_reason")
        for column in columns:
            out[f"{level}_{column.removeprefix('comparison_')}"] = level_rows[column]
    return out.reset_index().sort_values(["indicator_id", "year", "source", "qpv_code"], kind="mergesort").reset_index(drop=True)
