"""Definitions: every asset, the resources that say where files are, and the refresh job.

The analysis assets are partitioned by millésime (partitions "millesime", one per folder
data/raw/<YYYY>/); ``pipelines.refresh.refresh`` runs one partition per run, then the publication.
"""

from __future__ import annotations

import dagster as dg

from assets import checks, curated, ingestion, reporting, targets
from pipelines.resources import ObservatoryPaths, default_paths, observatory_resources

OBSERVATORY_JOB = "observatory_refresh"

all_assets = [*dg.load_assets_from_modules([ingestion, curated, targets, reporting]),
              *dg.load_asset_checks_from_modules([checks])]  # the validation suites, blocking

observatory_refresh = dg.define_asset_job(
    OBSERVATORY_JOB, selection=dg.AssetSelection.all(),
    description="Lit les fichiers bruts d'un millésime (partition), calcule les écarts, le promeut dans le dépôt des "
                "millésimes et publie l'entrepôt, les Parquet et les graphiques de tous les millésimes.",
)


def build_definitions(paths: ObservatoryPaths) -> dg.Definitions:
    return dg.Definitions(assets=all_assets, jobs=[observatory_refresh], resources=observatory_resources(paths))


defs = build_definitions(default_paths())
