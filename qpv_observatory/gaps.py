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
import pyarrow.compute as pc

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
# The columns compute_gaps reads of the observations and of the derived territories: the pipeline loads only these.
GAP_INPUT_COLUMNS = ("indicator_id", "year", "source", "source_label", "territory_level", "territory_code", "status",
                     "value")
DERIVED_INPUT_COLUMNS = ("indicator_id", "year", "source", "territory_level", "territory_code", "territory_name",
                         "parent_code", "value", "status", "reason")
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
ROW_TYPE = "int32"  # row numbers of the inputs (two billion rows at most), half the memory of int64
ONE_BATCH = 1 << 30  # rows per Arrow batch of a DuckDB result: one batch, whose columns need no copy to be joined


# Situation labels, by the code _situation gives them (0: no gap to judge).
SITUATIONS = pa.array([None, "neutral", "unfavourable", "favourable", "equal"], pa.large_string())


def _situation(gap: pd.Series, higher_is_better: np.ndarray, neutral: np.ndarray) -> pd.Series:
    """Whether the QPV is worse or better off than the comparison territory, per the indicator's polarity
    (``higher_is_better`` and ``neutral``: one boolean per gap)."""
    value = gap.to_numpy(dtype="float64", na_value=np.nan)  # NA -> NaN, so that no comparison is made on it
    signed = np.where(higher_is_better, -value, value)
    code = np.select([np.isnan(value), neutral, signed > 0, signed < 0], [0, 1, 2, 3], default=4)
    return pd.Series(pd.array(SITUATIONS.take(code), dtype="str"), index=gap.index)


def _strings(values: pd.Series) -> pa.Array:
    """A column as Arrow large strings (pandas' own storage: no copy), nulls kept."""
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array if array.type == pa.large_string() else array.cast(pa.large_string())


def _numbers(values: pd.Series) -> pa.Array:
    """A numeric column as Arrow float64, NA as null."""
    array = pa.array(values, from_pandas=True)
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return array.cast(pa.float64())


def _codes(*columns: pd.Series, null_is_value: bool = True) -> tuple[list[pa.Array], pa.Array]:
    """Integer codes of string columns in one code space, and the strings by code.

    Equal strings get equal codes and the codes sort as the strings do. Nulls get a code of their own,
    sorted last (a pandas merge matches null keys, a pandas sort puts them last), or stay null codes
    when ``null_is_value`` is false.
    """
    arrays = [_strings(c) for c in columns]
    encoded = pc.dictionary_encode(pa.concat_arrays(arrays), null_encoding="encode" if null_is_value else "mask")
    order = pc.array_sort_indices(encoded.dictionary, null_placement="at_end").to_numpy()
    rank = np.empty(len(order), dtype="int32")
    rank[order] = np.arange(len(order), dtype="int32")
    codes = pa.array(rank).take(encoded.indices)
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    return [codes.slice(start, stop - start) for start, stop in zip(bounds[:-1], bounds[1:])], encoded.dictionary.take(order)


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


# Every QPV figure beside the figures of the same indicator, year and source of its comparison territories, on the
# integer codes of _codes (equal as the strings are, sorted as they are); ``series`` codes the indicator, year and
# source together, in that sort order. The commune and the EPCI are kept when they have no figure (comparison
# status "absent"); the other levels only when they have one. Names and derived texts are given by row number, in
# the names and the derived table; rows are sorted afterwards (_published_order).
GAPS_SQL = """
WITH comparison AS (
    SELECT level, code AS link, series, code, value, status, NULL::INTEGER AS derived_row, _row FROM linked
    UNION ALL
    SELECT level, parent, series, code, value, status, _row, _row FROM derived
), gaps AS (
    SELECT q._row AS qpv_row, q.series, q.year, q.source_label, q.code AS qpv_code, q.value AS qpv_value,
           q.status AS qpv_status, p.level, coalesce(c.code, p.link) AS code, c.value, c.status, c.derived_row,
           p._row AS pair_row, c._row AS comparison_row
    FROM qpv AS q
    JOIN pairs AS p ON p.qpv = q.code
    LEFT JOIN comparison AS c ON c.level = p.level AND c.link = p.link AND c.series = q.series
    WHERE list_contains($kept_levels, p.level) OR c.level IS NOT NULL
    UNION ALL
    SELECT q._row, q.series, q.year, q.source_label, q.code, q.value, q.status, c.level, c.code, c.value, c.status,
           NULL, 0, c._row
    FROM qpv AS q
    JOIN national AS c ON c.series = q.series
)
SELECT g.series, g.year, g.qpv_code, g.source_label, g.level, g.code, g.qpv_value, g.qpv_status,
       g.value AS comparison_value, coalesce(g.status, $absent) AS comparison_status, g.derived_row,
       qn._row AS qpv_name_row, cn._row AS comparison_name_row, g.qpv_row, g.pair_row, g.comparison_row
FROM gaps AS g
LEFT JOIN names AS qn ON qn.code = g.qpv_code AND qn.level = $qpv
LEFT JOIN names AS cn ON cn.code = g.code AND cn.level = g.level
"""


def _published_order(rows: pa.Table, sizes: tuple[int, int, int]) -> np.ndarray:
    """The order of the gap rows: by indicator, year and source (``series``), QPV, level and comparison code;
    ties (never in validated data) in the order of the QPV figure, the referential link and the comparison figure.

    ``sizes``: how many series, territory codes and levels there are. The four keys make one integer when
    it fits, sorted at once.
    """
    series, codes, levels = sizes
    keys = [rows[c].to_numpy() for c in ("series", "qpv_code", "level", "code")]
    ties = [rows[c].to_numpy(zero_copy_only=False) for c in ("qpv_row", "pair_row", "comparison_row")]
    if max(series, 1) * max(codes, 1) * max(levels, 1) * max(codes, 1) < 1 << 62:
        key = ((keys[0].astype("int64") * codes + keys[1]) * levels + keys[2]) * codes + keys[3]
        order = np.argsort(key, kind="stable")
        if not (key[order][1:] == key[order][:-1]).any():
            return order
    return np.lexsort([*reversed(ties), *reversed(keys)])


def compute_gaps(observations: pd.DataFrame, referential: Referential, indicators: pd.DataFrame,
                 derived: pd.DataFrame | None = None) -> pd.DataFrame:
    """``derived``: the table of aggregation.derive_comparison_territories, when available.

    The joins and the sort run as one DuckDB statement on integer codes of the texts (Arrow tables); the
    texts are then taken back by code, and gap, ratio and situation computed with pandas.
    """
    # One name per code and level, the last listed winning (as a dict built from the rows would).
    names = referential.territories.drop_duplicates(["territory_code", "territory_level"], keep="last")
    if derived is None:
        derived = pd.DataFrame({c: pd.Series(dtype={"year": "int64", "value": "Float64"}.get(c, "str"))
                                for c in DERIVED_INPUT_COLUMNS})
    # Listed when published, or withheld by secrecy so that the reason shows beside the QPV;
    # other derived territories that cannot be computed are explained in the derived table only.
    shown = derived[derived["status"].isin([OK, SECRET])
                    & derived["territory_level"].isin([level for level, _ in DERIVED_LEVELS])]
    pairs = _link_pairs(referential.qpv_links)
    (obs_code, pair_qpv, pair_link, derived_code, derived_parent, name_code), codes = _codes(
        observations["territory_code"], pairs["qpv_code"], pairs["link"], shown["territory_code"], shown["parent_code"],
        names["territory_code"])
    (obs_level, pair_level, derived_level, name_level, _), levels = _codes(
        observations["territory_level"], pairs["level"], shown["territory_level"], names["territory_level"],
        pd.Series(PORTRAIT_LEVELS + (QPV,), dtype="str"))
    (obs_indicator, derived_indicator), indicator_ids = _codes(observations["indicator_id"], shown["indicator_id"])
    (obs_source, derived_source), sources = _codes(observations["source"], shown["source"])
    # Years numbered in their order, a missing one last; one series code per indicator, year and source.
    year_code, years = pd.factorize(pd.concat([observations["year"], shown["year"]], ignore_index=True),
                                    sort=True, use_na_sentinel=False)
    per_indicator = len(years) * len(sources)

    def series(indicator: pa.Array, year: np.ndarray, source: pa.Array) -> np.ndarray:
        return (indicator.to_numpy().astype("int64") * len(years) + year) * len(sources) + source.to_numpy()

    obs_series = series(obs_indicator, year_code[:len(observations)], obs_source)
    derived_series = series(derived_indicator, year_code[len(observations):], derived_source)
    (obs_label,), labels = _codes(observations["source_label"])
    (obs_status, derived_status, absent), statuses = _codes(
        observations["status"], shown["status"], pd.Series([NO_COMPARISON_VALUE], dtype="str"), null_is_value=False)
    level_code = {level: i for i, level in enumerate(levels.to_pylist())}

    def table(_row=None, **columns) -> pa.Table:
        length = len(next(iter(columns.values())))
        return pa.table({**columns, "_row": np.arange(length, dtype=ROW_TYPE) if _row is None else _row})

    figures = table(level=obs_level, code=obs_code, series=obs_series, year=pa.array(observations["year"]),
                    source_label=obs_label, value=_numbers(observations["value"]), status=obs_status)
    # The observations in three parts: the QPV figures; those of territories that some QPV is linked to
    # (most communes have no QPV); the national ones.
    level_of, code_of = obs_level.to_numpy(), obs_code.to_numpy()
    linked = np.zeros(len(codes), dtype=bool)
    linked[pair_link.to_numpy()] = True
    source_levels = [level_code[level] for level in (COMMUNE, EPCI, UNITE_URBAINE)]
    tables = {
        "qpv": figures.filter(level_of == level_code[QPV]),
        "linked": figures.filter(np.isin(level_of, source_levels) & linked[code_of]),
        "national": figures.filter(np.isin(level_of, [level_code[level] for level in NATIONAL_LEVELS])),
        "derived": table(level=derived_level, code=derived_code, parent=derived_parent, series=derived_series,
                         value=_numbers(shown["value"]), status=derived_status),
        "pairs": table(qpv=pair_qpv, level=pair_level, link=pair_link, _row=pairs["_row"].to_numpy(dtype=ROW_TYPE)),
        "names": table(code=name_code, level=name_level),
    }
    parameters = {"qpv": level_code[QPV], "absent": absent[0].as_py(),
                  "kept_levels": [level_code[level] for level, _ in LINKED_LEVELS]}
    with duckdb.connect(config={"memory_limit": MEMORY_LIMIT}) as con:
        for name, data in tables.items():
            con.register(name, data)
        rows = con.sql(GAPS_SQL, params=parameters).to_arrow_table(batch_size=ONE_BATCH).combine_chunks()
    order = _published_order(rows, (per_indicator * len(indicator_ids), len(codes), len(levels)))
    rows = rows.drop_columns(["qpv_row", "pair_row", "comparison_row"]).take(order)
    meta = indicators.set_index("indicator_id")
    by_indicator = pd.Series(indicator_ids.to_pandas(), dtype="str")
    derived_row, name_column = rows["derived_row"], _strings(names["name"])
    indicator = rows["series"].to_numpy() // per_indicator
    source = rows["series"].to_numpy() % len(sources)
    strings = {
        "qpv_code": codes.take(rows["qpv_code"]),
        "qpv_name": name_column.take(rows["qpv_name_row"]),
        "indicator_id": indicator_ids.take(indicator),
        "source": sources.take(source),
        "source_label": labels.take(rows["source_label"]),
        "comparison_level": levels.take(rows["level"]),
        "comparison_code": codes.take(rows["code"]),
        "comparison_name": pc.coalesce(_strings(shown["territory_name"]).take(derived_row),
                                       name_column.take(rows["comparison_name_row"])),
        "qpv_status": statuses.take(rows["qpv_status"]),
        "comparison_status": statuses.take(rows["comparison_status"]),
        "gap_unit": _strings(by_indicator.map(meta["unit"]).replace({"%": "points"})).take(indicator),
        "comparison_reason": _strings(shown["reason"]).take(derived_row),
    }
    gaps = pd.DataFrame({
        **{name: pd.array(values, dtype="str") for name, values in strings.items()},
        **{name: pd.array(rows[name], dtype="Float64") for name in ("qpv_value", "comparison_value")},
        "year": pd.array(rows["year"], dtype=observations["year"].dtype),
    })
    both_ok = (gaps["qpv_status"] == OK) & (gaps["comparison_status"] == OK)
    gaps["gap"] = (gaps["qpv_value"] - gaps["comparison_value"]).where(both_ok).round(PRECISION)
    nonzero = both_ok & (gaps["comparison_value"] != 0)
    gaps["ratio"] = (gaps["qpv_value"] / gaps["comparison_value"].where(nonzero)).where(nonzero).round(PRECISION)
    polarity = by_indicator.map(meta["polarity"])
    gaps["qpv_situation"] = _situation(gaps["gap"], (polarity == "higher_is_better").to_numpy(dtype=bool)[indicator],
                                       (polarity == "neutral").to_numpy(dtype=bool)[indicator])
    return gaps[GAP_COLUMNS]


def _sort_codes(column: pd.Series) -> np.ndarray:
    """Codes of a column's values, numbered in their sort order, nulls last and equal to each other (as pandas sorts)."""
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
        (codes,), _ = _codes(column)
        return codes.to_numpy().astype("int64")
    return pd.factorize(column, sort=True, use_na_sentinel=False)[0].astype("int64")


def _combined(codes: list[np.ndarray]) -> np.ndarray:
    """One code per combination of codes, in the lexicographic order of the combinations."""
    combined = np.zeros(len(codes[0]) if codes else 0, dtype="int64")
    for column in codes:
        size = int(column.max()) + 1 if len(column) else 1
        if combined.size and int(combined.max()) >= (1 << 62) // size:  # renumber before it could overflow
            combined = pd.factorize(combined, sort=True)[0].astype("int64")
        combined = combined * size + column
    return combined


def gap_portrait(gaps: pd.DataFrame) -> pd.DataFrame:
    """One row per QPV, indicator, year and source, comparison levels side by side (the published tables' shape).

    The QPV figure is the first gap row of its QPV, indicator, year and source; each level's columns come from
    the level's first row for them (a QPV spanning several communes is compared with each; the portrait keeps
    the first commune in code order, the long table keeps them all), provided it gives the QPV the same name and
    source label. Rows in indicator, year, source and QPV order.
    """
    index = ["qpv_code", "qpv_name", "indicator_id", "year", "source", "source_label", "qpv_value", "qpv_status"]
    group = _combined([_sort_codes(gaps[c]) for c in ("indicator_id", "year", "source", "qpv_code")])
    groups, first = np.unique(group, return_index=True)
    # The name and source label that the first row of each group gives (labels of the portrait's index).
    (name_code, label_code), _ = zip(*[_codes(gaps[c]) for c in ("qpv_name", "source_label")])
    name_code, label_code = name_code[0].to_numpy(), label_code[0].to_numpy()
    out = {column: gaps[column].array.take(first) for column in index}
    derived_levels = {level for level, _ in DERIVED_LEVELS}
    level_of_row, levels = pd.factorize(gaps["comparison_level"])
    for level in PORTRAIT_LEVELS:
        rows = np.flatnonzero(level_of_row == (levels.get_loc(level) if level in levels else -2))
        level_groups, level_first = np.unique(group[rows], return_index=True)
        position = np.full(len(groups), -1, dtype="int64")
        chosen = rows[level_first]
        slot = np.searchsorted(groups, level_groups)
        same_labels = ((name_code[chosen] == name_code[first[slot]]) & (label_code[chosen] == label_code[first[slot]]))
        position[slot[same_labels]] = chosen[same_labels]
        columns = ["comparison_code", "comparison_value", "comparison_status", "gap", "ratio"]
        if level in derived_levels:
            columns.append("comparison_reason")
        for column in columns:
            out[f"{level}_{column.removeprefix('comparison_')}"] = gaps[column].array.take(position, allow_fill=True)
    return pd.DataFrame(out)
