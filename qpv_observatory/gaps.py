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

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import (COMMUNE, COMMUNE_HORS_QPV, EPCI, EPCI_HORS_QPV, FRANCE, FRANCE_METRO, QPV,
                                         QPV_CONTRACT, QPV_FRANCE, UNITE_URBAINE)
from qpv_observatory.values import OK, SECRET
from qpv_observatory.warehouse import MEMORY_LIMIT

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


# Situation labels, by the code _situation gives them (0: no gap to judge).
SITUATIONS = pa.array([None, "neutral", "unfavourable", "favourable", "equal"], pa.large_string())


def _situation(gap: pd.Series, polarity: pd.Series) -> pd.Series:
    """Whether the QPV is worse or better off than the comparison territory, per the indicator's polarity."""
    value = gap.to_numpy(dtype="float64", na_value=np.nan)  # NA -> NaN, so that no comparison is made on it
    signed = np.where((polarity == "higher_is_better").to_numpy(dtype=bool), -value, value)
    code = np.select([np.isnan(value), (polarity == "neutral").to_numpy(dtype=bool), signed > 0, signed < 0],
                     [0, 1, 2, 3], default=4)
    return pd.Series(pd.array(SITUATIONS.take(code), dtype="str"), index=gap.index)


def _arrow_table(frame: pd.DataFrame, columns: dict[str, str]) -> pa.Table:
    """Columns of ``frame`` (name in the frame -> name in the table) as an Arrow table, plus its row number ``_row``.

    Arrow-backed strings are handed over without a copy; nullable numbers keep their nulls.
    """
    arrays = {name: pa.array(frame[column], from_pandas=True) for column, name in columns.items()}
    arrays["_row"] = pa.array(np.arange(len(frame), dtype="int64"))
    return pa.table(arrays)


def _link_pairs(links: pd.DataFrame) -> pd.DataFrame:
    """One row per QPV, comparison level reached through the referential and link code (first occurrence kept)."""
    parts = [pd.DataFrame({"qpv_code": pairs["qpv_code"], "level": level, "link": pairs[column], "_row": range(len(pairs))})
             for level, column, pairs in _pair_sources(links)]
    return pd.concat(parts, ignore_index=True)


def _pair_sources(links: pd.DataFrame):
    """(level, link column, pairs) for each level reached from a QPV through a link column of the referential."""
    for level, column in LINKED_LEVELS:
        yield level, column, links[["qpv_code", column]].drop_duplicates()
    for level, column in DERIVED_LEVELS:
        yield level, column, links[["qpv_code", column]].drop_duplicates()
    if UNIT_LINK_COLUMN in links.columns:
        yield UNITE_URBAINE, UNIT_LINK_COLUMN, links[["qpv_code", UNIT_LINK_COLUMN]].dropna().drop_duplicates()


# Every QPV figure beside the figures of the same indicator, year and source of its comparison territories.
# Null keys match as in a pandas merge (IS NOT DISTINCT FROM). The commune and the EPCI are kept when they have no
# figure (comparison status "absent"); the other levels only when they have one. Rows come out in the published order;
# ties (never in validated data) keep the order of the QPV figure, the referential link and the comparison figure.
GAPS_SQL = f"""
WITH qpv AS (
    SELECT * FROM obs WHERE territory_level = '{QPV}'
), comparison AS (
    SELECT territory_level AS level, territory_code AS link, indicator_id, year, source,
           territory_code AS comparison_code, NULL::VARCHAR AS given_name, value, status,
           NULL::VARCHAR AS comparison_reason, _row
    FROM obs WHERE territory_level IN ('{COMMUNE}', '{EPCI}', '{UNITE_URBAINE}')
    UNION ALL
    SELECT territory_level, parent_code, indicator_id, year, source, territory_code, territory_name, value, status,
           reason, _row
    FROM derived
), linked AS (
    SELECT q.territory_code AS qpv_code, q.indicator_id, q.year, q.source, q.source_label, p.level AS comparison_level,
           coalesce(c.comparison_code, p.link) AS comparison_code, c.given_name, q.value AS qpv_value,
           q.status AS qpv_status, c.value AS comparison_value, coalesce(c.status, '{NO_COMPARISON_VALUE}') AS comparison_status,
           c.comparison_reason, q._row AS _qpv_row, p._row AS _pair_row, c._row AS _comparison_row
    FROM qpv AS q
    JOIN pairs AS p ON p.qpv_code IS NOT DISTINCT FROM q.territory_code
    LEFT JOIN comparison AS c
        ON c.level = p.level AND c.link IS NOT DISTINCT FROM p.link AND c.indicator_id IS NOT DISTINCT FROM q.indicator_id
       AND c.year IS NOT DISTINCT FROM q.year AND c.source IS NOT DISTINCT FROM q.source
    WHERE p.level IN ('{COMMUNE}', '{EPCI}') OR c._row IS NOT NULL
), national AS (
    SELECT q.territory_code AS qpv_code, q.indicator_id, q.year, q.source, q.source_label,
           c.territory_level AS comparison_level, c.territory_code AS comparison_code, NULL::VARCHAR AS given_name,
           q.value AS qpv_value, q.status AS qpv_status, c.value AS comparison_value, c.status AS comparison_status,
           NULL::VARCHAR AS comparison_reason, q._row AS _qpv_row, 0 AS _pair_row, c._row AS _comparison_row
    FROM qpv AS q
    JOIN obs AS c
        ON c.territory_level IN ({", ".join(f"'{level}'" for level in NATIONAL_LEVELS)})
       AND c.indicator_id IS NOT DISTINCT FROM q.indicator_id AND c.year IS NOT DISTINCT FROM q.year
       AND c.source IS NOT DISTINCT FROM q.source
), gaps AS (
    SELECT * FROM linked UNION ALL SELECT * FROM national
)
SELECT g.qpv_code, qn.name AS qpv_name, g.indicator_id, g.year, g.source, g.source_label, g.comparison_level,
       g.comparison_code, coalesce(g.given_name, cn.name) AS comparison_name, g.qpv_value, g.qpv_status,
       g.comparison_value, g.comparison_status,
       CASE WHEN i.unit = '%' THEN 'points' ELSE i.unit END AS gap_unit, i.polarity, g.comparison_reason
FROM gaps AS g
LEFT JOIN names AS qn ON qn.territory_code = g.qpv_code AND qn.territory_level = '{QPV}'
LEFT JOIN names AS cn ON cn.territory_code = g.comparison_code AND cn.territory_level = g.comparison_level
LEFT JOIN indicators AS i ON i.indicator_id = g.indicator_id
ORDER BY g.indicator_id, g.year, g.source, g.qpv_code, g.comparison_level, g.comparison_code NULLS LAST,
         g._qpv_row, g._pair_row, g._comparison_row
"""


def compute_gaps(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame,
                 derived: pd.DataFrame | None = None) -> pd.DataFrame:
    """``derived``: the table of aggregation.derive_comparison_territories, when available.

    The joins run as one DuckDB statement over the frames (handed over as Arrow tables); gap, ratio and
    situation are then computed with pandas on the joined figures.
    """
    territories = referential.territories
    # One name per code and level, the last listed winning (as a dict built from the rows would).
    names = territories.drop_duplicates(["territory_code", "territory_level"], keep="last")
    if derived is None:
        derived = pd.DataFrame(columns=["indicator_id", "year", "source", "territory_level", "territory_code",
                                        "territory_name", "parent_code", "value", "status", "reason"])
    # Listed when published, or withheld by secrecy so that the reason shows beside the QPV;
    # other derived territories that cannot be computed are explained in the derived table only.
    shown = derived[derived["status"].isin([OK, SECRET])
                    & derived["territory_level"].isin([level for level, _ in DERIVED_LEVELS])]
    key = {"indicator_id": "indicator_id", "year": "year", "source": "source"}
    tables = {
        "obs": _arrow_table(observations, {**key, "territory_code": "territory_code", "territory_level": "territory_level",
                                           "source_label": "source_label", "value": "value", "status": "status"}),
        "derived": _arrow_table(shown, {**key, "territory_level": "territory_level", "territory_code": "territory_code",
                                        "territory_name": "territory_name", "parent_code": "parent_code",
                                        "value": "value", "status": "status", "reason": "reason"}),
        "pairs": _arrow_table(_link_pairs(referential.qpv_links), {"qpv_code": "qpv_code", "level": "level", "link": "link"}),
        "names": _arrow_table(names, {"territory_code": "territory_code", "territory_level": "territory_level", "name": "name"}),
        "indicators": _arrow_table(indicators, {"indicator_id": "indicator_id", "unit": "unit", "polarity": "polarity"}),
    }
    # Large strings: the Arrow type of pandas' strings, so that the result needs no cast.
    with duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "arrow_large_buffer_size": True}) as con:
        for name, table in tables.items():
            con.register(name, table)
        joined = con.sql(GAPS_SQL).to_arrow_table()
    gaps = joined.to_pandas(types_mapper={pa.float64(): pd.Float64Dtype()}.get)
    both_ok = (gaps["qpv_status"] == OK) & (gaps["comparison_status"] == OK)
    gaps["gap"] = (gaps["qpv_value"] - gaps["comparison_value"]).where(both_ok).round(PRECISION)
    nonzero = both_ok & (gaps["comparison_value"] != 0)
    gaps["ratio"] = (gaps["qpv_value"] / gaps["comparison_value"].where(nonzero)).where(nonzero).round(PRECISION)
    gaps["qpv_situation"] = _situation(gaps["gap"], gaps["polarity"])
    if gaps["year"].dtype != observations["year"].dtype:
        gaps["year"] = gaps["year"].astype(observations["year"].dtype)
    return gaps[GAP_COLUMNS]


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
