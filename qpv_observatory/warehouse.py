"""Curated outputs: Parquet files and a DuckDB warehouse, written into the release being prepared.

The release folder is published as one set only when every blocking check has passed
(qpv_observatory/release.py): nothing here touches what evaluators are reading.

A table is given either as a pandas frame (small tables: catalogue, referential, targets) or as
Parquet files of the millésime store, one per millésime, which DuckDB reads directly so that the
millésimes are never concatenated in pandas.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import duckdb
import pandas as pd
import pyarrow.parquet as pq

DATABASE_NAME = "observatoire_qpv.duckdb"
MEMORY_LIMIT = "1GB"  # DuckDB spills to a temporary file beyond it
PARQUET_DIR = "parquet"

# Table documentation, stored as DuckDB comments so that evaluators see it from SQL
# (SELECT table_name, comment FROM duckdb_tables()).
TABLE_DOCS = {
    "indicators": "Catalogue des indicateurs : libellé, unité, thème, source, polarité, agrégation, définition.",
    "sources": "Sources de données (producteur, libellé).",
    "territories": "Territoires : QPV, communes, EPCI (code et nom).",
    "qpv_links": "Rattachement de chaque QPV à sa ou ses communes et à son EPCI, par géographie (2015, 2024).",
    "commune_epci": "Composition communale des EPCI (INSEE) : commune et EPCI d'appartenance.",
    "qpv_correspondence": "Correspondance officielle entre les QPV 2024 et les QPV 2015 qu'ils reprennent "
                          "(aucun pour un nouveau quartier, plusieurs en cas de fusion), avec le statut publié.",
    "observations": "Une valeur publiée par ligne : indicateur, territoire, année, source ; "
                    "statut (ok, secret, not_available...), fichier brut / ligne d'origine et, quand la source en "
                    "publie, sa note de qualité telle que publiée (quality_note, ex. NOTE_CNAF=5).",
    "gaps": "Écarts QPV / territoire de comparaison (commune, EPCI, commune hors QPV, EPCI hors QPV, ensemble des QPV "
            "du contrat, unité urbaine, ensemble des QPV de France, France) : écart en points (ou unité), rapport, "
            "situation ; comparison_reason dit pourquoi une valeur dérivée n'est pas publiée.",
    "gap_portrait": "Portrait par QPV, indicateur et année : valeurs du QPV, de la commune, de l'EPCI et des autres "
                    "niveaux de comparaison côte à côte, écarts et rapports.",
    "comparison_territories": "Territoires de comparaison dérivés (ensemble des QPV du contrat, commune hors QPV, EPCI hors "
                              "QPV) : valeur, numérateur, dénominateur, mode d'agrégation, statut et raison quand la "
                              "valeur n'est pas publiée (secret statistique, non agrégeable, donnée absente).",
    "qpv_shares": "Part de la population (ou d'un effectif) de chaque commune et EPCI vivant en QPV : total des QPV, "
                  "total du territoire, part en %, statut et raison si non calculable.",
    "contracts": "Contrats de ville : territoire signataire (commune ou EPCI) et période (début, fin).",
    "target_progress": "Avancement des cibles des contrats : référence, dernière valeur, cible, part du chemin parcourue, "
                       "statut (reached, on_track, behind, no_data, target_not_set) et sa raison.",
    "gap_series": "Séries par QPV, indicateur, source et territoire de comparaison (commune, EPCI) : valeur et écart "
                  "de chaque année, année précédente de la série, évolution de la valeur et de l'écart depuis celle-ci ; "
                  "ruptures explicites : géographie (2015, 2024), comparabilité (comparable, comparable_with_warning, "
                  "no_history) tirée de la correspondance officielle et sa raison, changement de méthode de la source "
                  "(évolution alors non calculée).",
    "method_breaks": "Changements de méthode des sources : à partir de first_year, les chiffres de la source (ou du seul "
                     "indicateur indiqué) ne se comparent pas aux précédents.",
    "raw_files": "Fichiers bruts utilisés par l'état publié : chemin, taille en octets, SHA-256, lecteur, source, "
                 "millésime et rôle (referential, file, targets, manifest).",
    "millesimes": "Millésimes publiés (dossiers data/raw/<AAAA>/) : empreinte SHA-256 de leurs entrées et exécution "
                  "qui les a promus. Les tables par millésime (observations, gaps...) portent la colonne millesime.",
    "partner_representativity": "Remontées partenaires : bénéficiaires, dont QPV, part des QPV parmi les bénéficiaires, "
                                "part des QPV dans la population, indice de représentativité (rapport des deux parts).",
}


MILLESIME_COLUMN = "millesime"
MILLESIMES_TABLE = "millesimes"  # millesime, fingerprint, promotion: read back to update the next release


@dataclass(frozen=True)
class MillesimeFiles:
    """A table kept per millésime in the store: one Parquet file per millésime (never rewritten in place:
    a promotion swaps whole folders), and the promotion that wrote each millésime."""

    files: dict[int, Path]
    promotions: dict[int, str]


@dataclass(frozen=True)
class YearFiles:
    """A table over every millésime kept as one Parquet file per year of its ``year`` column (gap_series).
    Each file names its content in its footer (``content_metadata``): a file rewritten with other rows
    gets another id, so the warehouse rewrites only the years whose id it does not hold."""

    files: dict[int, Path]


CONTENT_ID_KEY = b"qpv_observatory.content_id"
YEAR_COLUMN = "year"


def content_metadata(content_id: str) -> dict[bytes, bytes]:
    """Parquet footer metadata naming a file's content."""
    return {CONTENT_ID_KEY: content_id.encode()}


def content_id(path: Path) -> str | None:
    """The content id in a Parquet file's footer (None: no id, or no readable file)."""
    try:
        recorded = (pq.read_schema(path).metadata or {}).get(CONTENT_ID_KEY)
    except (OSError, ValueError):
        return None
    return recorded.decode() if recorded else None


def year_file(folder: Path, year: int) -> Path:
    """Where a table kept per year holds the rows of ``year``."""
    return folder / f"{int(year)}.parquet"


def year_files(folder: Path) -> dict[int, Path]:
    """The per-year files of a folder (``year_file``), by year."""
    if not folder.is_dir():
        return {}
    return {int(p.stem): p for p in sorted(folder.glob("*.parquet")) if p.stem.isdigit()}


# A table to publish: a frame (small tables), one Parquet file, the store's files of a table kept per
# millésime, or of a table kept per year.
TableSource = Union[pd.DataFrame, Path, MillesimeFiles, YearFiles]


@dataclass(frozen=True)
class PublishedOutputs:
    database: Path
    parquet_files: dict[str, Path]  # a file, a folder of millesime=<AAAA>/part-0.parquet or of <year>.parquet
    # Per millésime table: the millésimes (re)written; per year table: the years (re)written; None: the whole table.
    rebuilt: dict[str, list[int] | None]


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_source(files: Sequence[Path]) -> str:
    """DuckDB table function over Parquet files; columns missing from some files are NULL there."""
    if not files:
        raise ValueError("no Parquet file to read")
    return f"read_parquet([{', '.join(sql_text(str(f)) for f in files)}], union_by_name = true)"


def millesime_rows(files: dict[int, Path], vintages: Sequence[int]) -> str:
    """The rows of the given millésimes, each with its millésime as a column (files may differ in columns)."""
    return " UNION ALL BY NAME ".join(
        f"SELECT *, CAST({int(v)} AS BIGINT) AS {MILLESIME_COLUMN} "
        f"FROM read_parquet({sql_text(str(files[v]))}, hive_partitioning = false)"
        for v in sorted(vintages))


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (instant, no space) where the filesystem allows it: store files are never rewritten."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _write_parquet(folder: Path, tables: dict[str, TableSource]) -> dict[str, Path]:
    written = {}
    for name, source in tables.items():
        if isinstance(source, pd.DataFrame):
            written[name] = folder / f"{name}.parquet"
            source.to_parquet(written[name], index=False)
        elif isinstance(source, Path):
            written[name] = folder / f"{name}.parquet"
            _link_or_copy(source, written[name])
        elif isinstance(source, YearFiles):
            written[name] = folder / name
            for path in source.files.values():
                _link_or_copy(path, written[name] / path.name)
        else:  # partitioned folder: pandas, pyarrow and DuckDB (hive_partitioning) read it as one table
            written[name] = folder / name
            for vintage, path in source.files.items():
                _link_or_copy(path, written[name] / f"{MILLESIME_COLUMN}={vintage}" / "part-0.parquet")
    return written


def _run(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """A statement whose result (DuckDB returns the count of rows changed) is read, so the connection can go on."""
    con.execute(statement).fetchall()


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return con.execute(f"SELECT count(*) FROM {relation}").fetchall()[0][0]


def _previous_promotions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if MILLESIMES_TABLE not in tables:
        return {}
    return dict(con.execute(f"SELECT {MILLESIME_COLUMN}, promotion FROM {MILLESIMES_TABLE}").fetchall())


def _columns(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {query}").fetchall()]


def _open_copy(path: Path, previous: Path | None,
               previous_copy: Path | None = None) -> tuple[duckdb.DuckDBPyConnection, dict[int, str]]:
    """A new database, starting from a copy of the previous one when it can be read (else empty).
    ``previous_copy``: a copy of it already made, moved into place instead of copying again."""
    # DuckDB takes 80 % of the machine's memory by default: the refresh must stay within 2 GiB.
    # Rows are loaded in parallel, in no particular order (about twice as fast at national scale):
    # a table has no row order, queries say ORDER BY; the Parquet files keep theirs.
    config = {"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False}
    if previous is not None and previous.is_file():
        if previous_copy is not None and previous_copy.is_file():
            os.replace(previous_copy, path)
        else:
            shutil.copyfile(previous, path)
        con = None
        try:
            con = duckdb.connect(str(path), config=config)
            return con, _previous_promotions(con)
        except duckdb.Error:  # damaged or from another DuckDB version: written whole instead
            if con is not None:
                con.close()
            path.unlink(missing_ok=True)
    return duckdb.connect(str(path), config=config), {}


def _write_database(path: Path, tables: dict[str, TableSource], previous: Path | None,
                    previous_copy: Path | None = None) -> tuple[dict[str, int], dict]:
    """Create or update every table; returns the rows each should have, and what was rewritten.

    With a previous release's database, a table kept per millésime keeps the rows of the millésimes
    promoted by the same run as then, and only the others are rewritten (a yearly refresh rewrites
    one millésime, not ten); a table kept per year gets only the years whose file the previous release
    did not hold (by content id) rewritten. Every other table is written again.
    """
    expected, rebuilt = {}, {}
    con, kept_promotions = _open_copy(path, previous, previous_copy)
    with con:
        existing = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for name, source in tables.items():
            if isinstance(source, MillesimeFiles):
                new_rows = millesime_rows(source.files, list(source.files))
                unchanged = [v for v in source.files if kept_promotions.get(v) == source.promotions.get(v)]
                same_shape = (name in existing and unchanged and
                              _columns(con, f'SELECT * FROM "{name}"') == _columns(con, f"SELECT * FROM ({new_rows}) LIMIT 0"))
                if same_shape:
                    stale = [v for v in source.files if v not in unchanged]
                    keep = ", ".join(str(int(v)) for v in unchanged)
                    _run(con, f'DELETE FROM "{name}" WHERE {MILLESIME_COLUMN} NOT IN ({keep})')
                    if stale:
                        _run(con, f'INSERT INTO "{name}" BY NAME {millesime_rows(source.files, stale)}')
                    rebuilt[name] = sorted(stale)
                else:
                    _run(con, f'CREATE OR REPLACE TABLE "{name}" AS {new_rows}')
                    rebuilt[name] = None
                expected[name] = _count(con, parquet_source(list(source.files.values())))
            elif isinstance(source, YearFiles):
                rows = parquet_source(list(source.files.values()))
                ids = {year: content_id(path) for year, path in source.files.items()}
                held = ({year: content_id(path) for year, path in year_files(previous.parent / PARQUET_DIR / name).items()}
                        if kept_promotions else {})
                same_shape = (bool(held) and name in existing
                              and _columns(con, f'SELECT * FROM "{name}"') == _columns(con, f"SELECT * FROM {rows} LIMIT 0"))
                if same_shape:
                    stale = sorted(y for y in source.files if ids[y] is None or held.get(y) != ids[y])
                    gone = sorted(set(held) - set(source.files))
                    if stale or gone:
                        _run(con, f'DELETE FROM "{name}" WHERE {YEAR_COLUMN} IN ({", ".join(map(str, stale + gone))})')
                    if stale:
                        _run(con, f'INSERT INTO "{name}" BY NAME SELECT * FROM '
                                  f'{parquet_source([source.files[y] for y in stale])}')
                    rebuilt[name] = stale
                else:
                    _run(con, f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM {rows}')
                    rebuilt[name] = None
                expected[name] = _count(con, rows)
            elif isinstance(source, Path):
                rows = f"read_parquet({sql_text(str(source))})"
                _run(con, f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM {rows}')
                rebuilt[name] = None
                expected[name] = _count(con, rows)
            else:
                con.register("_frame", source)
                _run(con, f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _frame')
                con.unregister("_frame")
                expected[name] = len(source)
        for name in existing - set(expected):  # a table no longer published
            _run(con, f'DROP TABLE "{name}"')
        for name in expected:
            _run(con, f"COMMENT ON TABLE \"{name}\" IS {sql_text(TABLE_DOCS.get(name, ''))}")
        _run(con, "CHECKPOINT")
    return expected, rebuilt


def _check_database(path: Path, expected: dict[str, int]) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for name, rows in expected.items():
            count = _count(con, f'"{name}"')
            if count != rows:
                raise RuntimeError(f"table {name}: {count} rows written, {rows} expected")


def write_tables(tables: dict[str, TableSource], release_dir: Path, previous: Path | None = None,
                 previous_copy: Path | None = None) -> PublishedOutputs:
    """Write every table to the DuckDB warehouse and to Parquet in the release, and check the counts.

    ``previous``: the published release's database, whose unchanged millésimes are kept (see _write_database);
    ``previous_copy``: a copy of it made beforehand (release.copy_ahead), taken instead of copying it here.
    """
    undocumented = sorted(set(tables) - set(TABLE_DOCS))
    if undocumented:
        raise ValueError(f"tables without documentation: {undocumented}")
    parquet_dir = release_dir / PARQUET_DIR
    database = release_dir / DATABASE_NAME
    shutil.rmtree(parquet_dir, ignore_errors=True)  # a retried step starts afresh
    database.unlink(missing_ok=True)
    parquet_dir.mkdir(parents=True)
    expected, rebuilt = _write_database(database, tables, previous, previous_copy)
    _check_database(database, expected)
    parquet_files = _write_parquet(parquet_dir, tables)
    return PublishedOutputs(database, parquet_files, rebuilt)
