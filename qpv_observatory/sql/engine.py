"""The SQL engine of the derived tables: each table is one query of a ``.sql`` file named after it.

A file's first comment block is the table's documentation (the warehouse's ``COMMENT ON TABLE``);
the query reads tables of the same connection by name:

- ``observations``: the long observations of a millésime, with ``_pos``, their row number;
- ``qpv_links``, ``territory_names`` (one name per code and level), ``indicators``: the referential and
  the catalogue;
- ``qpv_geographies``, ``status_labels``: the code patterns and French labels of the Python constants;
- the tables built before it (``perimeter_pairs`` before ``comparison_territories``...).

``build`` creates a table from its file; ``frame`` gives it back as a typed pandas frame (texts
``str``, numbers ``Float64``), the pandas dtypes of the rest of the pipeline.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from qpv_observatory.readers.referential import Referential
from qpv_observatory.territories import QPV_2015_RE, QPV_2024_RE
from qpv_observatory.values import STATUS_LABELS_FR

SQL_DIR = Path(__file__).resolve().parent
MEMORY_LIMIT = "1GB"  # DuckDB spills to a temporary file beyond it
POSITION = "_pos"


@cache
def query(table: str) -> str:
    return (SQL_DIR / f"{table}.sql").read_text(encoding="utf-8")


def documentation(table: str) -> str:
    """The first comment block of the table's file, as one line."""
    lines = []
    for line in query(table).splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(line for line in lines if line)


def connect() -> duckdb.DuckDBPyConnection:
    # Insertion order kept: the queries number rows as they come (_pos) and the "first" row of a group matters.
    return duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": True})


def _arrow(frame: pd.DataFrame, position: bool = False) -> pa.Table:
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    if position:
        table = table.append_column(POSITION, pa.array(range(len(frame)), pa.int64()))
    return table


def register_inputs(con: duckdb.DuckDBPyConnection, referential: Referential, indicators: pd.DataFrame,
                    observations: pd.DataFrame | None = None) -> None:
    """The referential, the catalogue, the constants and, when given, the observations as named tables."""
    links = referential.qpv_links
    if "unite_urbaine_code" not in links.columns:
        links = links.assign(unite_urbaine_code=pd.Series(None, index=links.index, dtype="str"))
    con.register("qpv_links", _arrow(links[["qpv_code", "commune_code", "epci_code", "geography",
                                            "unite_urbaine_code"]].astype({"geography": "Int64"})))
    # One name per code and level, the last listed winning (as a dict built from the rows would).
    names = referential.territories.drop_duplicates(["territory_code", "territory_level"], keep="last")
    con.register("territory_names", _arrow(names[["territory_code", "territory_level", "name"]]))
    # Columns a caller's catalogue may lack (the tests' small ones) are empty texts.
    meta = indicators.reindex(columns=["indicator_id", "unit", "aggregation", "polarity"])
    con.register("indicators", _arrow(meta.astype(pd.StringDtype(na_value=float("nan")))))
    con.register("qpv_geographies", pa.table({"geography": [2015, 2024],
                                              "pattern": [QPV_2015_RE.pattern, QPV_2024_RE.pattern]}))
    con.register("status_labels", pa.table({"status": list(STATUS_LABELS_FR),
                                            "label": list(STATUS_LABELS_FR.values())}))
    if observations is not None:
        con.register("observations", _arrow(observations, position=True))


def _run(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    # Fetched to the end: DuckDB keeps the connection busy until a statement's result is read.
    con.execute(statement).fetchall()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_observations(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The millésime's observations, as the store keeps them, under the name the queries read."""
    _run(con, f"CREATE OR REPLACE TEMP VIEW observations AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number AS {POSITION} FROM read_parquet({_literal(str(path))}, file_row_number = true)")


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> int:
    """The table as a Parquet file that pandas reads with the pipeline's dtypes (the pandas schema is written
    beside DuckDB's, as pandas would write it); returns its number of rows."""
    empty = con.table(table).limit(0).to_arrow_table().to_pandas(types_mapper=_pandas_type)
    schema = pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"].decode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(con, f"COPY {table} TO {_literal(str(path))} (FORMAT parquet, KV_METADATA {{pandas: {_literal(schema)}}})")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def build(con: duckdb.DuckDBPyConnection, table: str) -> None:
    _run(con, f"CREATE OR REPLACE TEMP TABLE {table} AS {query(table)}")


def _pandas_type(arrow_type: pa.DataType):
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype(na_value=float("nan"))
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    return None


def frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A table as pandas: texts ``str``, numbers ``Float64`` (NA, never NaN), integers ``int64``."""
    data = con.table(table).to_arrow_table()
    # A column of nulls only (no row) has DuckDB's type, not null: the conversion keeps its dtype.
    return data.to_pandas(types_mapper=_pandas_type)


# The derived tables each one reads.
READS = {"perimeter_pairs": (), "comparison_territories": ("perimeter_pairs",), "qpv_shares": ("perimeter_pairs",),
         "gaps": ("comparison_territories",), "gap_portrait": ("gaps",)}
# What gaps reads of comparison_territories, for a caller that gives none (no derived level).
EMPTY_COMPARISON_TERRITORIES = """CREATE TEMP TABLE comparison_territories (
    indicator_id VARCHAR, year BIGINT, source VARCHAR, territory_level VARCHAR, territory_code VARCHAR,
    territory_name VARCHAR, parent_code VARCHAR, value DOUBLE, status VARCHAR, reason VARCHAR)"""


def build_order(table: str, given=()) -> list[str]:
    """The tables to build for ``table``, each after those it reads, except the ``given`` ones."""
    if table in given:
        return []
    order = [name for read in READS[table] for name in build_order(read, given)]
    return [*dict.fromkeys(order), table]


def computed(table: str, referential: Referential | None = None, indicators: pd.DataFrame | None = None,
             observations: pd.DataFrame | None = None, **given: pd.DataFrame | None) -> pd.DataFrame:
    """One derived table computed from pandas frames (tests, benchmarks, one-off uses): the tables it
    reads are built first, unless ``given`` holds them (``comparison_territories=None``: an empty one)."""
    with connect() as con:
        if referential is not None:
            register_inputs(con, referential, indicators, observations)
        for name, data in given.items():
            if data is None:
                _run(con, EMPTY_COMPARISON_TERRITORIES)
            else:  # a table of its own: the queries read the row order of their inputs (rowid)
                con.register(f"{name}_given", _arrow(data))
                _run(con, f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_given")
        for name in build_order(table, given):
            build(con, name)
        return frame(con, table)
