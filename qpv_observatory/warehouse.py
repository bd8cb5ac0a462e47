"""Curated outputs: Parquet files and a DuckDB warehouse, written into the release being prepared.

The release folder is published as one set only when every blocking check has passed
(qpv_observatory/release.py): nothing here touches what evaluators are reading.

A table is given either as a pandas frame (small tables: catalogue, referential, targets) or as
Parquet files of the millésime store, one per millésime, which DuckDB reads directly so that the
millésimes are never concatenated in pandas.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import duckdb
import pandas as pd

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
                    "statut (ok, secret, not_available...) et fichier brut / ligne d'origine.",
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
    "partner_representativity": "Remontées partenaires : bénéficiaires, dont QPV, part des QPV parmi les bénéficiaires, "
                                "part des QPV dans la population, indice de représentativité (rapport des deux parts).",
}


# A table to publish: a frame, or the Parquet files (one per millésime) it is stored in.
TableSource = Union[pd.DataFrame, Sequence[Path]]


@dataclass(frozen=True)
class PublishedOutputs:
    database: Path
    parquet_files: dict[str, Path]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_source(files: Sequence[Path]) -> str:
    """DuckDB table function over Parquet files; columns missing from some files are NULL there."""
    if not files:
        raise ValueError("no Parquet file to read")
    return f"read_parquet([{', '.join(_sql_text(str(f)) for f in files)}], union_by_name = true)"


def _expected_rows(con: duckdb.DuckDBPyConnection, source: TableSource) -> int:
    if isinstance(source, pd.DataFrame):
        return len(source)
    return con.execute(f"SELECT count(*) FROM {parquet_source(source)}").fetchone()[0]


def _write_database(path: Path, tables: dict[str, TableSource]) -> dict[str, int]:
    """Create every table; returns the rows each should have."""
    expected = {}
    # DuckDB takes 80 % of the machine's memory by default: the refresh must stay within 2 GiB.
    with duckdb.connect(str(path), config={"memory_limit": MEMORY_LIMIT}) as con:
        for name, source in tables.items():
            if isinstance(source, pd.DataFrame):
                con.register("_frame", source)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
                con.unregister("_frame")
            else:
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {parquet_source(source)}')
            expected[name] = _expected_rows(con, source)
            con.execute(f"COMMENT ON TABLE \"{name}\" IS {_sql_text(TABLE_DOCS.get(name, ''))}")
        con.execute("CHECKPOINT")
    return expected


def _write_parquet(database: Path, folder: Path, tables: dict[str, TableSource]) -> None:
    """Frames through pandas (their dtypes kept); stored tables copied by DuckDB from the new database."""
    stored = [name for name, source in tables.items() if not isinstance(source, pd.DataFrame)]
    for name, source in tables.items():
        if isinstance(source, pd.DataFrame):
            source.to_parquet(folder / f"{name}.parquet", index=False)
    with duckdb.connect(str(database), read_only=True) as con:
        for name in stored:
            con.execute(f'COPY "{name}" TO {_sql_text(str(folder / f"{name}.parquet"))} (FORMAT parquet)')


def _check_database(path: Path, expected: dict[str, int]) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for name, rows in expected.items():
            count = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if count != rows:
                raise RuntimeError(f"table {name}: {count} rows written, {rows} expected")


def write_tables(tables: dict[str, TableSource], release_dir: Path) -> PublishedOutputs:
    """Write every table to the DuckDB warehouse and to Parquet in the release, and check the counts."""
    undocumented = sorted(set(tables) - set(TABLE_DOCS))
    if undocumented:
        raise ValueError(f"tables without documentation: {undocumented}")
    parquet_dir = release_dir / PARQUET_DIR
    database = release_dir / DATABASE_NAME
    shutil.rmtree(parquet_dir, ignore_errors=True)  # a retried step starts afresh
    database.unlink(missing_ok=True)
    parquet_dir.mkdir(parents=True)
    expected = _write_database(database, tables)
    _check_database(database, expected)
    _write_parquet(database, parquet_dir, tables)
    return PublishedOutputs(database, {name: parquet_dir / f"{name}.parquet" for name in tables})
