"""Curated outputs: Parquet files and a DuckDB warehouse under data/curated/.

Everything is first written to a staging folder beside the outputs, checked, then moved into
place file by file with atomic renames: a failed run leaves the previous outputs untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


def publish_tables(tables: dict[str, pd.DataFrame], curated_dir: Path) -> PublishedOutputs:
    """Write every table to Parquet and DuckDB, then replace the published files."""
    undocumented = sorted(set(tables) - set(TABLE_DOCS))
    if undocumented:
        raise ValueError(f"tables without documentation: {undocumented}")
    curated_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=curated_dir))
    try:
        (staging / PARQUET_DIR).mkdir()
        for name, frame in tables.items():
            frame.to_parquet(staging / PARQUET_DIR / f"{name}.parquet", index=False)
        _write_database(staging / DATABASE_NAME, tables)
        _check_database(staging / DATABASE_NAME, tables)
        (curated_dir / PARQUET_DIR).mkdir(exist_ok=True)
        parquet_files = {}
        for name in tables:
            target = curated_dir / PARQUET_DIR / f"{name}.parquet"
            os.replace(staging / PARQUET_DIR / f"{name}.parquet", target)
            parquet_files[name] = target
        os.replace(staging / DATABASE_NAME, curated_dir / DATABASE_NAME)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PublishedOutputs(curated_dir / DATABASE_NAME, parquet_files)
