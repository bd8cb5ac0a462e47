"""Evaluation report per contract: HTML pages, PNG/SVG charts and the XLSX workbook of gaps."""

import dagster as dg
import pandas as pd

from pipelines.resources import ObservatoryPaths
from qpv_observatory.catalogue import Catalogue
from qpv_observatory.manifest import load_manifest
from qpv_observatory.perimeter import qpv_links_inside
from qpv_observatory.readers.referential import Referential
from qpv_observatory.release import staging_dir


@dg.asset(group_name="publication", deps=["promoted_millesime"],
          description="Rapport d'évaluation HTML par contrat (page par QPV, par thème), graphiques PNG/SVG, classeur XLSX.")
def evaluation_report(context: dg.AssetExecutionContext, paths: ObservatoryPaths, indicator_catalogue: Catalogue,
                      qpv_referential: Referential,
                      target_progress: pd.DataFrame) -> dg.MaterializeResult:
    # Imported here: matplotlib is loaded only when pictures are drawn (not by `run --without-pictures`).
    from qpv_observatory.report import contracts_from_referential, publish_reports

    vintages = paths.published_vintages()
    gap_portrait = paths.store.read_table("gap_portrait", vintages)
    gaps = paths.store.read_table("gaps", vintages)
    perimeter = load_manifest(paths.raw, vintages=()).perimeter
    contracts = contracts_from_referential(qpv_links_inside(perimeter, qpv_referential), qpv_referential.territories)
    reports = publish_reports(contracts, gap_portrait, gaps, indicator_catalogue.indicators,
                              qpv_referential.territories, staging_dir(paths.curated, context.run.run_id),
                              progress=target_progress)
    return dg.MaterializeResult(metadata={
        "contracts": len(reports),
        "pages": sum(len(r.pages) for r in reports.values()),
        "charts": sum(len(r.charts) for r in reports.values()),
    })
