"""Time and memory of gap_series at national scale: prints figures, asserts nothing.

Synthetic store of gap files: 10 millésimes x 1,600 QPV x 150 indicators x (commune, EPCI), the
2015 geography up to 2023 and the 2024 geography from 2024 with a correspondence (I, M, N).
Usage: .venv/bin/python benchmarks/gap_series_scale.py [folder]  (run twice: the second run times gap_series alone)
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from qpv_observatory.catalogue import load_catalogue
from qpv_observatory.series import write_gap_series
from qpv_observatory.warehouse import year_files
from pipelines.resources import PROJECT_ROOT

YEARS = range(2016, 2026)
QPV, INDICATORS = 1600, 150


def write_store(folder: Path) -> list[Path]:
    files = []
    with duckdb.connect() as con:
        for year in YEARS:
            prefix = "QP" if year < 2024 else "QN"
            # 2024 codes: number i keeps QP i's series; the status letter cycles I, M, N.
            code = (f"'QP' || lpad(CAST(q // 1000 + 1 AS VARCHAR), 3, '0') || lpad(CAST(q % 1000 AS VARCHAR), 3, '0')"
                    if prefix == "QP" else
                    "'QN' || lpad(CAST(q // 100 + 1 AS VARCHAR), 3, '0') || lpad(CAST(q % 100 AS VARCHAR), 2, '0') "
                    "|| ['I', 'M', 'N'][q % 3 + 1]")
            path = folder / f"gaps_{year}.parquet"
            con.execute(f"""
                COPY (SELECT {code} AS qpv_code, 'QPV ' || q AS qpv_name, 'ind_' || i AS indicator_id,
                             {year} AS year, 'src_' || (i % 10) AS source, 'Source' AS source_label,
                             level AS comparison_level, CAST(q // 10 AS VARCHAR) AS comparison_code,
                             'Territoire' AS comparison_name, 20.0 + (q % 7) + {year} % 3 AS qpv_value, 'ok' AS qpv_status,
                             15.0 AS comparison_value, 'ok' AS comparison_status, 5.0 + (q % 7) + {year} % 3 AS gap,
                             'points' AS gap_unit
                      FROM range({QPV}) r(q), range({INDICATORS}) s(i), (VALUES ('commune'), ('epci')) l(level))
                TO '{path}' (FORMAT parquet)""")
            files.append(path)
    return files


def correspondence() -> pd.DataFrame:
    rows = []
    for q in range(QPV):
        new = f"QN{q // 100 + 1:03d}{q % 100:02d}{'IMN'[q % 3]}"
        old = f"QP{q // 1000 + 1:03d}{q % 1000:03d}"
        rows.append((new, None if new.endswith("N") else old, new[-1]))
    return pd.DataFrame(rows, columns=["qpv_2024", "qpv_2015", "status_2024"])


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gap_series_"))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    files = sorted(folder.glob("gaps_*.parquet")) or write_store(folder)  # kept between runs of the script
    print(f"synthetic gap files: {len(files)} millésimes, {QPV * INDICATORS * 2 * len(files):,} rows, "
          f"{sum(f.stat().st_size for f in files) / 2**20:.0f} MiB, {time.perf_counter() - start:.1f} s")
    breaks = load_catalogue(PROJECT_ROOT / "data" / "catalogue").method_breaks
    start = time.perf_counter()
    # One file per millésime (gaps_<year>.parquet); never confirmed, so the whole series is computed.
    by_vintage = {int(f.stem.split("_")[-1]): f for f in files}
    rows = write_gap_series(by_vintage, {v: "benchmark" for v in by_vintage}, correspondence(), breaks,
                            folder / "gap_series").rows
    print(f"gap_series: {rows:,} rows in {time.perf_counter() - start:.1f} s, "
          f"{sum(f.stat().st_size for f in year_files(folder / 'gap_series').values()) / 2**20:.0f} MiB, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    main()
