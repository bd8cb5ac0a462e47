"""The floor of the join stage: the QPV / commune / EPCI gap join as one plain DuckDB SQL statement.

It reads the inputs the pipeline's join stage reads, as published in the curated folder (the
Parquet files of ``observations`` and ``qpv_links``), and compares each QPV value with its
commune's and its EPCI's value for the same indicator, year and source: gap and ratio, only
between two published numbers, as the pipeline does. ``python -m benchmarks.duckdb_floor CURATED``
prints the statement's time and row count as JSON (run in its own process by the benchmark).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

from qpv_observatory.warehouse import PARQUET_DIR

FLOOR_SQL = """
CREATE TABLE floor_gaps AS
WITH observations AS (
    SELECT indicator_id, territory_code, territory_level, year, source, value, status
    FROM read_parquet($observations, union_by_name = true)
), links AS (
    SELECT qpv_code, commune_code, epci_code FROM read_parquet($links, union_by_name = true)
), pairs AS (
    SELECT qpv_code, 'commune' AS comparison_level, commune_code AS comparison_code FROM links
    UNION
    SELECT qpv_code, 'epci', epci_code FROM links WHERE epci_code IS NOT NULL
)
SELECT q.territory_code AS qpv_code, q.indicator_id, q.year, q.source, p.comparison_level, p.comparison_code,
       q.value AS qpv_value, q.status AS qpv_status, c.value AS comparison_value,
       coalesce(c.status, 'absent') AS comparison_status,
       CASE WHEN q.status = 'ok' AND c.status = 'ok' THEN round(q.value - c.value, 6) END AS gap,
       CASE WHEN q.status = 'ok' AND c.status = 'ok' AND c.value <> 0 THEN round(q.value / c.value, 6) END AS ratio
FROM observations AS q
JOIN pairs AS p ON p.qpv_code = q.territory_code
LEFT JOIN observations AS c
    ON c.territory_level = p.comparison_level AND c.territory_code = p.comparison_code
   AND c.indicator_id = q.indicator_id AND c.year = q.year AND c.source = q.source
WHERE q.territory_level = 'qpv'
"""


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


def run_floor(observations: list[Path], links: list[Path],
              connection: duckdb.DuckDBPyConnection | None = None) -> tuple[duckdb.DuckDBPyConnection, float]:
    """Run the statement into an in-memory table ``floor_gaps``; returns the connection and the seconds it took."""
    con = connection or duckdb.connect()
    started = time.perf_counter()
    con.execute(FLOOR_SQL, {"observations": [str(p) for p in observations], "links": [str(p) for p in links]})
    return con, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duckdb_floor",
                                     description="Jointure QPV / commune / EPCI en une requête DuckDB (plancher du banc d'essai).")
    parser.add_argument("curated_dir", type=Path, help="dossier publié par le pipeline (Parquet de observations et qpv_links)")
    args = parser.parse_args(argv)
    observations, links = table_files(args.curated_dir, "observations"), table_files(args.curated_dir, "qpv_links")
    con, seconds = run_floor(observations, links)
    rows = con.execute("SELECT count(*) FROM floor_gaps").fetchone()[0]
    print(json.dumps({"seconds": seconds, "rows": rows, "files": len(observations) + len(links)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
