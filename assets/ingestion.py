"""Ingestion: catalogue, referentials and one asset per data source."""


import dagster as dg
import pandas as pd

from pipelines.partitions import MILLESIMES
from pipelines.resources import STORE_IO_MANAGER, ObservatoryPaths, input_errors_in_report
from qpv_observatory.catalogue import Catalogue, load_catalogue
from qpv_observatory.ingest import read_referentials, read_source_observations
from qpv_observatory.manifest import load_manifest
from qpv_observatory.readers.referential import Referential

# Source ids of data/catalogue/sources.csv (a test keeps the two in step).
SOURCES = ("insee_rp", "insee_filosofi", "cnaf", "cnam", "sig_ville", "france_travail", "insee_populations_legales")


@dg.asset(group_name="ingestion", description="Catalogue des indicateurs et correspondance des variables par millésime.")
def indicator_catalogue(context: dg.AssetExecutionContext, paths: ObservatoryPaths) -> Catalogue:
    with input_errors_in_report(context, paths, "indicator_catalogue"):
        return load_catalogue(paths.catalogue)


@dg.asset(group_name="ingestion", description="Référentiel QPV → commune(s) → EPCI.")
def qpv_referential(context: dg.AssetExecutionContext, paths: ObservatoryPaths) -> Referential:
    with input_errors_in_report(context, paths, "qpv_referential"):
        referential = read_referentials(paths.raw, load_manifest(paths.raw, vintages=()))
    context.add_output_metadata({"qpv": int((referential.territories["territory_level"] == "qpv").sum()),
                                 "links": len(referential.qpv_links)})
    return referential


def _source_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(name=f"{source}_observations", group_name="ingestion", partitions_def=MILLESIMES,
              io_manager_key=STORE_IO_MANAGER,
              description=f"Observations d'un millésime lues dans les fichiers bruts de la source {source}.")
    def _asset(context: dg.AssetExecutionContext, paths: ObservatoryPaths,
               indicator_catalogue: Catalogue) -> pd.DataFrame:
        with input_errors_in_report(context, paths, f"{source}_observations"):
            manifest = load_manifest(paths.raw, [int(context.partition_key)])
            observations = read_source_observations(paths.raw, manifest, source, indicator_catalogue)
        context.add_output_metadata({"rows": len(observations),
                                     "not_ok": int((observations["status"] != "ok").sum()),
                                     "files": sorted(observations["source_file"].unique().tolist())})
        return observations

    return _asset


source_observation_assets = [_source_asset(source) for source in SOURCES]
