"""Curated outputs: Parquet files and a DuckDB warehouse, written into the release being prepared.

The release folder is published as one set only when every blocking check has passed
(qpv_observatory/release.py): nothing here touches what evaluators are reading.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

DATABASE_NAME = "observatoire_qpv.duckdb"
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
    "partner_representativity": "Remontées partenaires : bénéficiaires, dont QPV, part des QPV parmi les bénéficiaires, "
                                "part des QPV dans la population, indice de représentativité (rapport des deux parts).",
}


@dataclass(frozen=True)
class PublishedOutputs:
    database: Path
    parquet_files: dict[str, Path]


def _write_database(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("_frame", frame)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
            con.unregister("_frame")
            comment = TABLE_DOCS.get(name, "").replace("'", "''")
            con.execute(f"COMMENT ON TABLE \"{name}\" IS '{comment}'")
        con.execute("CHECKPOINT")


def _check_database(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for name, frame in tables.items():
            count = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if count != len(frame):
                raise RuntimeError(f"table {name}: {count} rows written, {len(frame)} expected")


def write_tables(tables: dict[str, pd.DataFrame], release_dir: Path) -> PublishedOutputs:
    """Write every table to Parquet and to the DuckDB warehouse of the release, and check the counts."""
    undocumented = sorted(set(tables) - set(TABLE_DOCS))
    if undocumented:
        raise ValueError(f"tables without documentation: {undocumented}")
    parquet_dir = release_dir / PARQUET_DIR
    database = release_dir / DATABASE_NAME
    shutil.rmtree(parquet_dir, ignore_errors=True)  # a retried step starts afresh
    database.unlink(missing_ok=True)
    parquet_dir.mkdir(parents=True)
    parquet_files = {}
    for name, frame in tables.items():
        parquet_files[name] = parquet_dir / f"{name}.parquet"
        frame.to_parquet(parquet_files[name], index=False)
    _write_database(database, tables)
    _check_database(database, tables)
    return PublishedOutputs(database, parquet_files)
