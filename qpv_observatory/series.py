"""Time series of each QPV's gap to its commune and its EPCI, with the breaks that forbid a comparison.

One row per QPV, indicator, source, comparison territory and year, beside the previous year of the
same series: the change of the QPV's value and of its gap since then. Two kinds of break:

- geography: a QPV of the 2024 geography continues the series of its 2015 predecessor only when
  the official correspondence gives exactly one predecessor and the code's status letter is I
  (contour inchangé: comparable) or M (contour modifié: comparable with a warning); its previous
  point is then the predecessor's latest figure before 2024 (when the 2024 geography took effect);
  a new QPV (N) or one made of several 2015 QPV has no history;
- method: from a year listed in data/catalogue/method_breaks.csv, a source's figures are not
  compared with earlier ones: the change stays empty and the break's label shows.

Computed in DuckDB over the millésime store's gap files, so that no millésime is held in pandas.
Secret or missing values stay empty: a change is never computed from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qpv_observatory.gaps import PRECISION
from qpv_observatory.warehouse import (MEMORY_LIMIT, MILLESIME_COLUMN, YEAR_COLUMN, content_metadata, millesime_rows,
                                       sql_text, year_file, year_files)
from qpv_observatory.territories import COMMUNE, EPCI

COMPARABLE, COMPARABLE_WITH_WARNING, NO_HISTORY = "comparable", "comparable_with_warning", "no_history"
SERIES_LEVELS = (COMMUNE, EPCI)

GAP_SERIES_COLUMNS = [
    "qpv_code", "qpv_name", "geography", "indicator_id", "source", "source_label",
    "comparison_level", "comparison_code", "comparison_name", "year",
    "qpv_value", "qpv_status", "comparison_value", "comparison_status", "gap", "gap_unit",
    "previous_year", "previous_qpv_code", "previous_qpv_value", "previous_gap",
    "qpv_value_change", "gap_change", "comparability", "comparability_reason", "method_break",
]

# The points of the series being computed (the figures of _indicators, and the 2015 predecessors' figures
# that continue 2024 QPV series), narrow: the window sorts them.
_POINTS_CTES = f"""
WITH correspondence AS (
    SELECT CAST(qpv_2024 AS VARCHAR) AS qpv_2024,
           count(CAST(qpv_2015 AS VARCHAR)) AS predecessors,
           min(CAST(qpv_2015 AS VARCHAR)) AS predecessor,
           string_agg(CAST(qpv_2015 AS VARCHAR), ', ' ORDER BY CAST(qpv_2015 AS VARCHAR)) AS predecessor_list
    FROM _correspondence GROUP BY 1
),
points_base AS (
    -- Every figure of the series being computed (whole series), narrow: the window sorts them all.
    SELECT qpv_code, indicator_id, source, comparison_level, comparison_code, CAST(year AS INTEGER) AS year,
           CASE WHEN starts_with(qpv_code, 'QN') THEN 2024 ELSE 2015 END AS geography,
           CAST(qpv_value AS DOUBLE) AS qpv_value, CAST(gap AS DOUBLE) AS gap
    FROM _gaps WHERE comparison_level IN ('{COMMUNE}', '{EPCI}')
      AND indicator_id IN (SELECT indicator_id FROM _indicators)  -- the part being computed (whole series)
),
continuations AS (
    -- The official code of a 2024 QPV ends with its status letter: N new, M contour modifié, I inchangé.
    SELECT qpv_2024 AS qpv_code, predecessor FROM correspondence
    WHERE right(qpv_2024, 1) IN ('I', 'M') AND predecessors = 1
),
history AS (
    -- The 2015 predecessor's figures (before 2024, when the 2024 geography took effect), copied as the
    -- beginning of each 2024 QPV series that continues it; removed again after the window below.
    SELECT c.qpv_code AS series_code, p.qpv_code, p.indicator_id, p.source, p.comparison_level, p.comparison_code,
           p.year, p.geography, p.qpv_value, p.gap, TRUE AS is_history
    FROM continuations c JOIN points_base p ON p.qpv_code = c.predecessor AND p.year < 2024
),
all_points AS (
    SELECT qpv_code AS series_code, qpv_code, indicator_id, source, comparison_level, comparison_code,
           year, geography, qpv_value, gap, FALSE AS is_history
    FROM points_base
    UNION ALL
    SELECT * FROM history
)"""
_SERIES_TEMPLATE = _POINTS_CTES + f""",
points AS ({{points}}),
previous AS (
    SELECT qpv_code, indicator_id, source, comparison_level, comparison_code, year, previous_year, previous_qpv_code,
           previous_qpv_value, previous_gap
    FROM (
        SELECT *, lag(year) OVER w AS previous_year, lag(qpv_code) OVER w AS previous_qpv_code,
               lag(qpv_value) OVER w AS previous_qpv_value, lag(gap) OVER w AS previous_gap
        FROM points
        WINDOW w AS (PARTITION BY series_code, indicator_id, source, comparison_level, comparison_code
                     ORDER BY year, geography)
    ) WHERE NOT is_history AND year >= {{from_year}}
),
base AS (
    -- The rows computed, with every column.
    SELECT qpv_code, qpv_name, indicator_id, source, source_label, comparison_level, comparison_code,
           comparison_name, CAST(year AS INTEGER) AS year, CAST(qpv_value AS DOUBLE) AS qpv_value, qpv_status,
           CAST(comparison_value AS DOUBLE) AS comparison_value, comparison_status, CAST(gap AS DOUBLE) AS gap,
           gap_unit, CASE WHEN starts_with(qpv_code, 'QN') THEN 2024 ELSE 2015 END AS geography
    FROM _gaps WHERE comparison_level IN ('{COMMUNE}', '{EPCI}')
      AND indicator_id IN (SELECT indicator_id FROM _indicators) AND CAST(year AS INTEGER) >= {{from_year}}
),
linked AS (
    SELECT b.*, CASE WHEN b.geography = 2024 THEN right(b.qpv_code, 1) END AS status_letter,
           c.predecessors, c.predecessor_list,
           CASE WHEN b.geography = 2024 AND right(b.qpv_code, 1) IN ('I', 'M') AND c.predecessors = 1
                THEN c.predecessor END AS predecessor
    FROM base b LEFT JOIN correspondence c ON c.qpv_2024 = b.qpv_code
),
joined AS (
    -- A QPV's figure is unique per indicator, source, comparison territory and year (the gaps' key).
    SELECT l.*, p.previous_year, p.previous_qpv_code, p.previous_qpv_value, p.previous_gap,
           p.previous_qpv_code IS DISTINCT FROM l.qpv_code AS from_predecessor
    FROM linked l JOIN previous p USING (qpv_code, indicator_id, source, comparison_level, comparison_code, year)
),
series AS (
    SELECT *,
        CASE WHEN previous_year IS NULL THEN '{NO_HISTORY}'
             WHEN NOT from_predecessor OR status_letter = 'I' THEN '{COMPARABLE}'
             ELSE '{COMPARABLE_WITH_WARNING}' END AS comparability,
        CASE WHEN previous_year IS NOT NULL AND NOT from_predecessor THEN NULL
             WHEN previous_year IS NOT NULL AND status_letter = 'I'
                 THEN 'QPV 2024 au contour inchangé : suite de la série du QPV 2015 ' || predecessor
             WHEN previous_year IS NOT NULL
                 THEN 'QPV 2024 au contour modifié : suite de la série du QPV 2015 ' || predecessor
                      || ', évolution à interpréter avec prudence'
             WHEN geography = 2024 AND status_letter = 'N'
                 THEN 'nouveau quartier de la géographie 2024 : pas de série antérieure'
             WHEN geography = 2024 AND predecessors > 1
                 THEN 'QPV 2024 issu de plusieurs QPV 2015 (' || predecessor_list || ') : pas de série antérieure comparable'
             WHEN geography = 2024 AND coalesce(predecessors, 0) = 0 AND status_letter IN ('I', 'M')
                 THEN 'QPV 2024 absent de la correspondance 2015 → 2024 : pas de série antérieure'
             ELSE 'premier millésime de la série' END AS comparability_reason
    FROM joined
),
crossings AS (
    -- Method breaks between two years of a series: few distinct (source, indicator, years) to test.
    SELECT k.source, k.indicator_id, k.previous_year, k.year,
           string_agg(b.label_fr, ' ; ' ORDER BY b.first_year, b.label_fr) AS method_break
    FROM (SELECT DISTINCT source, indicator_id, previous_year, year FROM series WHERE previous_year IS NOT NULL) k
    JOIN _method_breaks b ON b.source = k.source AND (b.indicator_id IS NULL OR b.indicator_id = k.indicator_id)
     AND b.first_year > k.previous_year AND b.first_year <= k.year
    GROUP BY ALL
),
with_breaks AS (
    SELECT s.*, c.method_break
    FROM series s LEFT JOIN crossings c USING (source, indicator_id, previous_year, year)
)
SELECT qpv_code, qpv_name, geography, indicator_id, source, source_label, comparison_level, comparison_code,
       comparison_name, year, qpv_value, qpv_status, comparison_value, comparison_status, gap, gap_unit,
       previous_year, previous_qpv_code, previous_qpv_value, previous_gap,
       CASE WHEN comparability <> '{NO_HISTORY}' AND method_break IS NULL
            THEN round(qpv_value - previous_qpv_value, {PRECISION}) END AS qpv_value_change,
       CASE WHEN comparability <> '{NO_HISTORY}' AND method_break IS NULL
            THEN round(gap - previous_gap, {PRECISION}) END AS gap_change,
       comparability, comparability_reason, method_break
FROM with_breaks
"""
_ALL_POINTS = "SELECT * FROM all_points"
# The latest point of each series among ``{points}``. arg_max_null, not max_by: the latest point's value may be
# empty (secret), and must stay so; one aggregate of a struct rather than one per column (half the time at
# national scale). Columns in the order of all_points.
_LATEST = """
    SELECT series_code, latest.qpv_code AS qpv_code, indicator_id, source, comparison_level, comparison_code,
           latest.year AS year, latest.geography AS geography, latest.qpv_value AS qpv_value, latest.gap AS gap,
           latest.is_history AS is_history
    FROM (SELECT series_code, indicator_id, source, comparison_level, comparison_code,
                 arg_max_null({{'qpv_code': qpv_code, 'year': year, 'geography': geography, 'qpv_value': qpv_value,
                               'gap': gap, 'is_history': is_history}}, year * 10000 + geography) AS latest
          FROM {points}
          GROUP BY series_code, indicator_id, source, comparison_level, comparison_code)
"""


def _latest_points(points: str) -> str:
    """The statement of the latest point of each series among ``points`` (a table or a subquery)."""
    return _LATEST.format(points=points)


def _points_from(start: int, kept_latest: bool = False) -> str:
    """The points from ``start`` on and, of the earlier years, only the latest point of each series (lag looks
    one point back): what the rows from ``start`` on need. Exact, and fewer points to sort.

    ``kept_latest``: the earlier latest points are read from ``_kept_latest``, the latest points before
    ``start`` that the previous series write kept (write_gap_series), instead of being sought among every
    earlier point."""
    year = int(start)
    earlier = ("SELECT * FROM _kept_latest WHERE indicator_id IN (SELECT indicator_id FROM _indicators)"
               if kept_latest else _latest_points(f"(SELECT * FROM all_points WHERE year < {year})"))
    return f"SELECT * FROM all_points WHERE year >= {year}\n    UNION ALL BY NAME\n{earlier}"


SERIES_ORDER_COLUMNS = ["indicator_id", "source", "qpv_code", "comparison_level", "comparison_code", "year"]
SERIES_ORDER = ", ".join(SERIES_ORDER_COLUMNS)
# Every row of the series in one statement (gap_series, for frames); write_gap_series computes them in parts.
_SQL = f"{_SERIES_TEMPLATE.format(points=_ALL_POINTS, from_year=0)} ORDER BY {SERIES_ORDER}"


def _register(con: duckdb.DuckDBPyConnection, correspondence: pd.DataFrame, method_breaks: pd.DataFrame) -> None:
    con.register("_correspondence", correspondence[["qpv_2024", "qpv_2015"]].astype("object"))
    breaks = method_breaks[["source", "first_year", "indicator_id", "label_fr"]].astype(
        {"source": "object", "indicator_id": "object", "label_fr": "object", "first_year": "int64"})
    con.register("_method_breaks", breaks)


def gap_series(gaps: pd.DataFrame, correspondence: pd.DataFrame, method_breaks: pd.DataFrame) -> pd.DataFrame:
    """The series of a gaps table (gaps.compute_gaps) as a frame: for tests and small extracts."""
    with duckdb.connect() as con:
        con.register("_gaps", gaps)
        con.execute("CREATE TEMP TABLE _indicators AS SELECT DISTINCT indicator_id FROM _gaps")
        _register(con, correspondence, method_breaks)
        return con.sql(_SQL).df()


# The latest point of each series, kept beside the series for the next refresh (store/series/<table>.<file>).
LATEST_POINTS_FILE = "latest_points.parquet"
# Rows of gap_series computed at once: whole indicators (a series never spans two), so that DuckDB's
# sorts stay in memory instead of spilling gigabytes to disk at national scale.
SERIES_PART_ROWS = 300_000


@dataclass(frozen=True)
class SeriesWrite:
    rows: int
    from_year: int | None  # rows from this year on were computed (and are to be validated); None: all


def write_gap_series(gaps_files: dict[int, Path], promotions: dict[int, str], correspondence: pd.DataFrame,
                     method_breaks: pd.DataFrame, target: Path, part_rows: int = SERIES_PART_ROWS) -> SeriesWrite:
    """The series over the millésime store's gap files (one per millésime), written to the folder ``target``:
    one Parquet file per year (``<year>.parquet``), each sorted in SERIES_ORDER.

    Computed in parts of whole indicators (a series never spans two); each part's rows appended to the
    file of their year: a file holds the rows a single statement would give for its year, in the same order.

    Incremental when the previous series was validated and built from the same correspondence, method
    breaks and statement: a row depends only on its own figure and the earlier points of its series, so
    the files of years before the earliest year of a re-promoted (or withdrawn) millésime are kept as
    they are, and only the later years are computed and written again. ``from_year`` says which rows are new.
    Each file's footer names its content (year and what it was computed from), for the warehouse.
    """
    target.mkdir(parents=True, exist_ok=True)
    target.with_suffix(".parquet").unlink(missing_ok=True)  # the one-file series of earlier versions
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    inputs = _inputs_digest(correspondence, method_breaks)
    writers: dict[int, pq.ParquetWriter] = {}
    with duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(target.parent / ".duckdb_tmp")}) as con:
        con.execute(f"CREATE VIEW _gaps AS {millesime_rows(gaps_files, list(gaps_files))}")
        _register(con, correspondence, method_breaks)
        scope = f"comparison_level IN ('{COMMUNE}', '{EPCI}')"
        years = {v: (first, last) for v, first, last in con.execute(
            f"SELECT {MILLESIME_COLUMN}, min(year), max(year) FROM _gaps WHERE {scope} GROUP BY ALL").fetchall()}
        first_years = {v: first for v, (first, _) in years.items()}
        record = _read_record(target)
        from_year = _from_year(record, inputs, promotions, first_years)
        if from_year is not None and _same_millesimes(record, promotions):
            # Nothing changed since the validated series: kept as it is, with no row to check again.
            _write_record(target, {**record, "validated": False, "from_year": from_year})
            return SeriesWrite(_rows(target), from_year)
        since = 0 if from_year is None else int(from_year)
        kept_cut = _usable_latest_points(target, record, from_year)
        # The points each part sorts are those from ``start`` on, and the latest point of each series before it.
        start = since if kept_cut is None else kept_cut
        if kept_cut is not None:
            con.execute(f"CREATE VIEW _kept_latest AS SELECT * FROM read_parquet("
                        f"{sql_text(str(_latest_points_path(target)))})")
            # Only the points from ``start`` on are read: the files of the millésimes that have some (any file
            # would do: the rows before ``start`` are left out).
            recent = [v for v, (_, last) in years.items() if last >= start] or list(gaps_files)
            con.execute(f"CREATE OR REPLACE VIEW _gaps AS {millesime_rows(gaps_files, recent)}")
        # Every indicator is computed, so that the latest points are written for all of them; in parts weighed
        # by the points each sorts (every point, or those from ``start`` on and the kept latest points).
        if kept_cut is None:
            weights = f"SELECT indicator_id, count(*) FROM _gaps WHERE {scope} GROUP BY ALL ORDER BY 1"
        else:
            # An indicator with no point from ``start`` on still has its kept points carried over.
            weights = (f"SELECT indicator_id, coalesce(g.n, 0) + coalesce(k.n, 0) FROM (SELECT indicator_id, "
                       f"count(*) FILTER (WHERE CAST(year AS INTEGER) >= {start}) AS n FROM _gaps WHERE {scope} "
                       f"GROUP BY ALL) g FULL JOIN (SELECT indicator_id, count(*) AS n FROM _kept_latest GROUP BY ALL) "
                       f"k USING (indicator_id) ORDER BY 1")
        counts = con.execute(weights).fetchall()
        # Kept for the next refresh: the latest point of each series before the first year of the newest
        # millésime (the one a refresh most often adds after, or promotes again); possible when the part's points
        # hold every point from that year on.
        new_cut = first_years.get(max(first_years)) if first_years else None
        if new_cut is not None and new_cut < start:
            new_cut = None
        # The same cut as the points kept (the newest millésime promoted again): they are still the latest.
        same_latest = kept_cut is not None and new_cut == kept_cut
        series_id = _series_id(inputs, promotions)
        # The part's points are materialised once: the window sorts them, and their latest are kept.
        points = f"{_POINTS_CTES}\n{_ALL_POINTS if from_year is None else _points_from(start, kept_cut is not None)}"
        # By year first: each year's rows are one slice of the part, in SERIES_ORDER.
        statement = (f"{_SERIES_TEMPLATE.format(points='SELECT * FROM _points', from_year=since)} "
                     f"ORDER BY {YEAR_COLUMN}, {SERIES_ORDER}")
        schema, latest_writer = None, None
        try:
            for part in _indicator_parts(counts, part_rows) if counts else [[None]]:
                con.execute("CREATE OR REPLACE TEMP TABLE _indicators AS SELECT unnest(?::VARCHAR[]) AS indicator_id",
                            [part])
                con.execute(f"CREATE OR REPLACE TEMP TABLE _points AS {points}")
                table = con.sql(statement).to_arrow_table()
                schema = table.schema
                for year, rows in _year_slices(table):
                    if year not in writers:
                        writers[year] = pq.ParquetWriter(year_file(staging, year), schema.with_metadata(
                            content_metadata(_content_id(series_id, year))))
                    writers[year].write_table(rows)
                if new_cut is not None and not same_latest:
                    latest = con.sql(_latest_points(f"(SELECT * FROM _points WHERE year < {int(new_cut)})")
                                     ).to_arrow_table()
                    if latest_writer is None:
                        latest_writer = pq.ParquetWriter(staging / LATEST_POINTS_FILE, latest.schema)
                    latest_writer.write_table(latest)
            if not writers and not any(year < since for year in year_files(target)):
                # No row at all: an empty file still gives the table its columns.
                writers[since] = pq.ParquetWriter(year_file(staging, since), schema)
        finally:
            for writer in [*writers.values(), *([latest_writer] if latest_writer else [])]:
                writer.close()
    if record:  # files are about to change: until the new record, nothing may be kept from them
        _write_record(target, {**record, "validated": False})
    # Years from from_year on are replaced (or removed when they have no row any more); earlier ones kept.
    for year, path in year_files(target).items():
        if from_year is None or year >= from_year:
            path.unlink()
    for year in writers:
        os.replace(year_file(staging, year), year_file(target, year))
    if latest_writer is not None:
        os.replace(staging / LATEST_POINTS_FILE, _latest_points_path(target))
    elif not same_latest:
        _latest_points_path(target).unlink(missing_ok=True)
    staging.rmdir()
    _write_record(target, {"inputs": inputs, "validated": False, "from_year": from_year,
                           "latest_cut": new_cut if latest_writer is not None or same_latest else None,
                           "millesimes": {str(v): {"promotion": promotions.get(v, ""), "first_year": first_years.get(v)}
                                          for v in gaps_files}})
    return SeriesWrite(_rows(target), from_year)


def _year_slices(table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """The rows of each year of a table sorted by year: (year, rows)."""
    if table.num_rows == 0:
        return
    years = table.column(YEAR_COLUMN).combine_chunks()
    starts = [0, *(pc.indices_nonzero(pc.not_equal(years.slice(1), years.slice(0, len(years) - 1))).to_numpy() + 1)]
    for start, end in zip(starts, [*starts[1:], table.num_rows]):
        yield int(years[int(start)].as_py()), table.slice(int(start), int(end - start))


def _latest_points_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.{LATEST_POINTS_FILE}")


def _usable_latest_points(target: Path, record: dict, from_year: int | None) -> int | None:
    """The year before which the previous write kept the latest point of each series, when those points are
    the ones of the rows kept now: the write was validated from the same inputs (``from_year`` is set), and
    ``from_year`` is not before that year. Every earlier point then belongs to a millésime promoted as then
    (see _from_year). None: not usable."""
    cut = record.get("latest_cut")
    if from_year is None or cut is None or from_year < cut or not _latest_points_path(target).is_file():
        return None
    return int(cut)


def _rows(target: Path) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in year_files(target).values())


def _content_id(series_id: str, year: int) -> str:
    return hashlib.sha256(f"{series_id}/{int(year)}".encode()).hexdigest()


def confirm_series(target: Path) -> None:
    """The series passed its suite: the next refresh may keep its rows (see write_gap_series)."""
    record = _read_record(target)
    if record:
        _write_record(target, {**record, "validated": True})


def series_rows_to_validate(target: Path) -> int | None:
    """The year from which the last written series has new rows (None: every row is new)."""
    record = _read_record(target)
    return record.get("from_year") if record and not record.get("validated") else None


def series_files_to_validate(target: Path) -> list[Path]:
    """The files of the last written series that hold new rows (the others passed the suite before)."""
    from_year = series_rows_to_validate(target)
    return [path for year, path in year_files(target).items() if from_year is None or year >= from_year]


def _from_year(record: dict, inputs: str, promotions: dict[int, str], first_years: dict[int, int]) -> int | None:
    if not record or not record.get("validated") or record.get("inputs") != inputs:
        return None
    before = {int(v): entry for v, entry in record.get("millesimes", {}).items()}
    changed = [v for v in set(before) | set(promotions)
               if v not in before or v not in promotions or before[v]["promotion"] != promotions[v]]
    years = [y for v in changed for y in (before.get(v, {}).get("first_year"), first_years.get(v)) if y is not None]
    if changed and not years:
        return None
    # Nothing changed: a year after every figure, so that no row is new.
    return min(years) if years else max([*first_years.values(), 0]) + 1


def _same_millesimes(record: dict, promotions: dict[int, str]) -> bool:
    before = {int(v): entry["promotion"] for v, entry in record.get("millesimes", {}).items()}
    return before == promotions


def _inputs_digest(correspondence: pd.DataFrame, method_breaks: pd.DataFrame) -> str:
    digest = hashlib.sha256((_SERIES_TEMPLATE + _points_from(0) + _points_from(0, kept_latest=True)).encode())
    for frame in (correspondence[["qpv_2024", "qpv_2015"]], method_breaks):
        digest.update(frame.astype(str).to_csv(index=False).encode())
    return digest.hexdigest()


def _series_id(inputs: str, promotions: dict[int, str]) -> str:
    """What the series is computed from: the store's gap files never change once promoted, so their
    promotions name them."""
    return hashlib.sha256(json.dumps([inputs, sorted(promotions.items())]).encode()).hexdigest()


def _record_path(target: Path) -> Path:
    return target.with_suffix(".json")


def _read_record(target: Path) -> dict:
    path = _record_path(target)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() and target.is_dir() else {}


def _write_record(target: Path, record: dict) -> None:
    partial = _record_path(target).with_name(f".{_record_path(target).name}.partial")
    partial.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(partial, _record_path(target))


def _indicator_parts(counts: list[tuple[str, int]], part_rows: int) -> Iterator[list[str]]:
    """Consecutive indicators (in order) grouped into parts of about ``part_rows`` rows."""
    part, rows = [], 0
    for indicator, count in counts:
        part.append(indicator)
        rows += count
        if rows >= part_rows:
            yield part
            part, rows = [], 0
    if part:
        yield part


# Rows of gap_series handed to the validation at once: whole indicators, so that the uniqueness rule
# (its key includes indicator_id) sees every row it compares.
VALIDATION_CHUNK_ROWS = 250_000


def series_parts(path: Path, display_name: str, max_rows: int = VALIDATION_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A series file read once, in order, in parts of whole indicators (about ``max_rows`` rows each),
    so that it is never held whole in pandas; each row carries the file's name and its row number
    (1 = first row). The file is sorted by indicator (write_gap_series): a part ends where one begins."""
    pending: list[pa.Table] = []
    offset, seen = 0, set()

    def part(table: pa.Table) -> pd.DataFrame:
        nonlocal offset
        ids = table.column("indicator_id")
        indicators = set(pc.unique(ids).to_pylist())
        runs = 1 + (pc.sum(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py() or 0) if len(ids) else 0
        if indicators & seen or runs != len(indicators):
            raise ValueError(f"{display_name} : lignes d'un même indicateur dispersées dans le fichier")
        seen.update(indicators)
        frame = table.to_pandas()
        frame["source_file"] = display_name
        frame["source_row"] = np.arange(offset + 1, offset + table.num_rows + 1)
        offset += table.num_rows
        return frame

    for batch in pq.ParquetFile(path).iter_batches(batch_size=64 * 1024):
        pending.append(pa.Table.from_batches([batch]))
        if sum(t.num_rows for t in pending) < max_rows:
            continue
        table = pa.concat_tables(pending)
        indicators = table.column("indicator_id")
        cut = pc.index(indicators, indicators[-1]).as_py()  # where the last indicator begins
        if cut > 0:
            yield part(table.slice(0, cut))
            pending = [table.slice(cut)]
    if pending:
        table = pa.concat_tables(pending)
        if table.num_rows or not seen:
            yield part(table)
