"""Definitions: every asset, the resources that say where files are, and the refresh job.

The analysis assets are partitioned by millésime (partitions "millesime", one per folder
data/raw/<YYYY>/); ``pipelines.refresh.refresh`` runs one partition per run, then the publication.
"""

from __future__ import annotations

import logging

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


@dg.logger(config_schema={"path": dg.Field(str, default_value="", description="fichier du journal ; vide : aucun"),
                          "log_level": dg.Field(str, default_value="DEBUG")},
           description="Journal complet d'une exécution (traces comprises) dans un fichier, la console restant brève.")
def run_log_file(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.getLogger(f"qpv_observatory.journal.{id(init_context)}")
    logger.setLevel(config["log_level"])
    logger.propagate = False
    if config["path"]:
        handler = logging.FileHandler(config["path"], encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


def build_definitions(paths: ObservatoryPaths) -> dg.Definitions:
    return dg.Definitions(assets=all_assets, jobs=[observatory_refresh], resources=observatory_resources(paths),
                          loggers={"console": dg.colored_console_logger, "journal": run_log_file})


def refresh_job(raw_dir: str = "", catalogue_dir: str = "", curated_dir: str = "") -> dg.JobDefinition:
    """The refresh job for the given folders, rebuilt by Dagster from these arguments (``dg.execute_job``)."""
    paths = ObservatoryPaths(raw_dir=raw_dir, catalogue_dir=catalogue_dir, curated_dir=curated_dir)
    return build_definitions(paths).resolve_job_def(OBSERVATORY_JOB)


def reconstructable_refresh_job(paths: ObservatoryPaths) -> dg.ReconstructableJob:
    return dg.build_reconstructable_job(__name__, refresh_job.__name__, reconstructable_kwargs={
        "raw_dir": paths.raw_dir, "catalogue_dir": paths.catalogue_dir, "curated_dir": paths.curated_dir})


defs = build_definitions(default_paths())
