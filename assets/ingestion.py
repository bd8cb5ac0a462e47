"""Ingestion: catalogue and referentials (the millésime's raw files are read by ``observations``)."""


import dagster as dg

from pipelines.resources import ObservatoryPaths, input_errors_in_report
from qpv_observatory.catalogue import Catalogue, load_catalogue
from qpv_observatory.ingest import read_referentials
from qpv_observatory.manifest import load_manifest
from qpv_observatory.readers.referential import Referential


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
