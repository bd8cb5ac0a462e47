"""Definitions: every asset, the resource that says where files are, and the full-refresh job."""

from __future__ import annotations

import dagster as dg

from assets import checks, curated, ingestion, reporting, targets
from pipelines.resources import default_paths

OBSERVATORY_JOB = "observatory_refresh"

all_assets = [*dg.load_assets_from_modules([ingestion, curated, targets, reporting]),
              *dg.load_asset_checks_from_modules([checks])]  # the validation suites, blocking

observatory_refresh = dg.define_asset_job(
    OBSERVATORY_JOB, selection=dg.AssetSelection.all(),
    description="Lit les fichiers bruts, calcule les écarts et publie l'entrepôt, les Parquet et les graphiques.",
)

defs = dg.Definitions(
    assets=all_assets,
    jobs=[observatory_refresh],
    resources={"paths": default_paths()},
)
