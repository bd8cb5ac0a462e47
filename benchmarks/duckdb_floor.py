"""The floor of the join stage: the pipeline's gap table computed by one plain DuckDB SQL statement.

It reads the inputs the pipeline's join stage (the ``gaps`` asset) reads, as published in the curated
folder: the Parquet files of ``observations`` and ``comparison_territories`` (one folder per
millésime), ``qpv_links``, ``territories`` and ``indicators``. It gives the same table as the
pipeline, row for row and in the same order: each QPV figure beside the figure of the same
indicator, year, source and millésime of each of its comparison territories (commune and EPCI,
"absent" when no source has them; the derived territories published or withheld by secrecy; the
unité urbaine and the national levels when a source has them), with names, gap and ratio between two
published numbers only, gap unit, the QPV's situation per the indicator's polarity and the reason of a
withheld derived figure. The test suite checks that it equals the published ``gaps`` table.

``python -m benchmarks.duckdb_floor CURATED`` prints the statement's time and row count as JSON, and the
time of the same statement without its sort (run in its own process by the benchmark).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

from qpv_observatory.gaps import (DERIVED_LEVELS, LINKED_LEVELS, NATIONAL_LEVELS, NO_COMPARISON_VALUE, PRECISION,
                                  UNIT_LINK_COLUMN)
from qpv_observatory.territories import QPV, UNITE_URBAINE
from qpv_observatory.values import OK, SECRET
from qpv_observatory.warehouse import MILLESIME_COLUMN, PARQUET_DIR, sql_text

# The tables the statement reads, by parameter name.
FLOOR_TABLES = ("observations", "comparison_territories", "qpv_links", "territories", "indicators")


def _quoted(values) -> str:
    return ", ".join(sql_text(value) for value in values)


def floor_sql(unit_links: bool, ordered: bool = True) -> str:
    """The statement; ``unit_links``: whether ``qpv_links`` has the unité urbaine link column; ``ordered``: rows
    in the published order (else in DuckDB's order: the same rows, for comparison)."""
    pairs = [f"SELECT DISTINCT qpv_code, '{level}' AS level, {column} AS link FROM links"
             for level, column in (*LINKED_LEVELS, *DERIVED_LEVELS)]
    if unit_links:
        pairs.append(f"SELECT DISTINCT qpv_code, '{UNITE_URBAINE}', {UNIT_LINK_COLUMN} FROM links "
                     f"WHERE {UNIT_LINK_COLUMN} IS NOT NULL")
    source_levels = _quoted(level for level, _ in LINKED_LEVELS) + f", '{UNITE_URBAINE}'"
    m = MILLESIME_COLUMN
    return f"""
CREATE TABLE floor_gaps AS
WITH observations AS (
    SELECT {m}, indicator_id, year, source, source_label, territory_level, territory_code, value, status
    FROM read_parquet($observations, hive_partitioning = true, union_by_name = true)
), derived AS (
    SELECT {m}, indicator_id, year, source, territory_level, territory_code, territory_name, parent_code, value,
           status, reason
    FROM read_parquet($comparison_territories, hive_partitioning = true, union_by_name = true)
    WHERE status IN ('{OK}', '{SECRET}') AND territory_level IN ({_quoted(level for level, _ in DERIVED_LEVELS)})
), links AS (
    SELECT * FROM read_parquet($qpv_links)
), pairs AS (
    {" UNION ALL ".join(pairs)}
), names AS (  -- one name per code and level, the last listed winning
    SELECT territory_code AS code, territory_level AS level, arg_max(name, file_row_number) AS name
    FROM read_parquet($territories, file_row_number = true) GROUP BY ALL
), comparison AS (
    SELECT {m}, territory_level AS level, territory_code AS link, indicator_id, year, source, territory_code AS code,
           value, status, NULL AS derived_name, NULL AS reason
    FROM observations WHERE territory_level IN ({source_levels})
    UNION ALL
    SELECT {m}, territory_level, parent_code, indicator_id, year, source, territory_code, value, status,
           territory_name, reason
    FROM derived
), qpv AS (
    SELECT * FROM observations WHERE territory_level = '{QPV}'
), gaps AS (
    SELECT q.*, p.level, coalesce(c.code, p.link) AS code, c.value AS comparison_value, c.status AS comparison_status,
           c.derived_name, c.reason
    FROM qpv AS q
    JOIN pairs AS p ON p.qpv_code = q.territory_code
    LEFT JOIN comparison AS c
        ON c.{m} = q.{m} AND c.level = p.level AND c.link = p.link
       AND c.indicator_id = q.indicator_id AND c.year = q.year AND c.source = q.source
    WHERE p.level IN ({_quoted(level for level, _ in LINKED_LEVELS)}) OR c.level IS NOT NULL
    UNION ALL
    SELECT q.*, c.territory_level, c.territory_code, c.value, c.status, NULL, NULL
    FROM qpv AS q
    JOIN observations AS c
        ON c.territory_level IN ({_quoted(NATIONAL_LEVELS)}) AND c.{m} = q.{m}
       AND c.indicator_id = q.indicator_id AND c.year = q.year AND c.source = q.source
), computed AS (
    SELECT g.*, i.unit, i.polarity,
           CASE WHEN g.status = '{OK}' AND g.comparison_status = '{OK}'
                THEN round(g.value - g.comparison_value, {PRECISION}) END AS gap,
           CASE WHEN g.status = '{OK}' AND g.comparison_status = '{OK}' AND g.comparison_value <> 0
                THEN round(g.value / g.comparison_value, {PRECISION}) END AS ratio
    FROM gaps AS g
    LEFT JOIN read_parquet($indicators) AS i ON i.indicator_id = g.indicator_id
)
SELECT g.{m}, g.territory_code AS qpv_code, qn.name AS qpv_name, g.indicator_id, g.year, g.source, g.source_label,
       g.level AS comparison_level, g.code AS comparison_code, coalesce(g.derived_name, cn.name) AS comparison_name,
       g.value AS qpv_value, g.status AS qpv_status, g.comparison_value,
       coalesce(g.comparison_status, '{NO_COMPARISON_VALUE}') AS comparison_status, g.gap,
       CASE WHEN g.unit = '%' THEN 'points' ELSE g.unit END AS gap_unit, g.ratio,
       CASE WHEN g.gap IS NULL THEN NULL
            WHEN g.polarity = 'neutral' THEN 'neutral'
            WHEN CASE WHEN g.polarity = 'higher_is_better' THEN -g.gap ELSE g.gap END > 0 THEN 'unfavourable'
            WHEN CASE WHEN g.polarity = 'higher_is_better' THEN -g.gap ELSE g.gap END < 0 THEN 'favourable'
            ELSE 'equal' END AS qpv_situation,
       g.reason AS comparison_reason
FROM computed AS g
LEFT JOIN names AS qn ON qn.code = g.territory_code AND qn.level = '{QPV}'
LEFT JOIN names AS cn ON cn.code = g.code AND cn.level = g.level
""" + (f"ORDER BY g.{m}, g.indicator_id, g.year, g.source, g.territory_code, g.level, g.code\n" if ordered else "")


def table_files(curated_dir: Path, table: str) -> list[Path]:
    """The Parquet files of one published table.

    Looked for in the published Parquet folder (``parquet/``, a link into the current release since
    set-level publication), else in the whole curated folder: ``<table>.parquet``, or any Parquet
    file under a folder named after the table (a table split per millésime). Folders whose name
    starts with a dot (staging) are never published files.
    """
    published = Path(curated_dir) / PARQUET_DIR
    root = published.resolve() if published.is_dir() else Path(curated_dir)
    found = []
    for path in sorted(root.rglob("*.parquet")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in parts):
            continue
        if path.stem == table or table in parts[:-1]:
            found.append(path)
    if not found:
        raise FileNotFoundError(f"aucun fichier Parquet de la table {table} sous {root}")
    return found


def run_floor(files: dict[str, list[Path]], connection: duckdb.DuckDBPyConnection | None = None,
              ordered: bool = True) -> tuple[duckdb.DuckDBPyConnection, float]:
    """Run the statement into an in-memory table ``floor_gaps``; returns the connection and the seconds it took.

    ``files``: the Parquet files of each table of FLOOR_TABLES (see ``table_files``).
    """
    con = connection or duckdb.connect()
    parameters = {table: [str(p) for p in files[table]] for table in FLOOR_TABLES}
    link_columns = con.execute("SELECT name FROM parquet_schema($files)", {"files": parameters["qpv_links"]}).fetchall()
    statement = floor_sql(unit_links=(UNIT_LINK_COLUMN,) in link_columns, ordered=ordered)
    started = time.perf_counter()
    con.execute(statement, parameters)
    return con, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duckdb_floor",
                                     description="Table des écarts du pipeline en une requête DuckDB "
                                                 "(plancher du banc d'essai).")
    parser.add_argument("curated_dir", type=Path, help="dossier publié par le pipeline (ses fichiers Parquet)")
    args = parser.parse_args(argv)
    files = {table: table_files(args.curated_dir, table) for table in FLOOR_TABLES}
    con, seconds = run_floor(files)
    rows = con.execute("SELECT count(*) FROM floor_gaps").fetchone()[0]
    con.execute("DROP TABLE floor_gaps")
    # The same rows without the sort: how much of the floor is the published order.
    _, unordered = run_floor(files, con, ordered=False)
    print(json.dumps({"seconds": seconds, "seconds_unordered": unordered, "rows": rows,
                      "files": sum(len(f) for f in files.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
