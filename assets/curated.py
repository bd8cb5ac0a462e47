"""Analysis and publication: canonical observations, gaps, DuckDB/Parquet outputs, charts."""


import dagster as dg
import pandas as pd

from assets.ingestion import SOURCES
from pipelines.resources import ObservatoryPaths
from qpv_observatory.aggregation import derive_comparison_territories, qpv_shares as compute_qpv_shares
from qpv_observatory.catalogue import Catalogue
from qpv_observatory.charts import indicator_charts as draw_indicator_charts
from qpv_observatory.gaps import compute_gaps, gap_portrait as widen_gaps
from qpv_observatory.observations import combine_observations
from qpv_observatory.readers.referential import Referential
from qpv_observatory.validation_report import input_errors_reported
from qpv_observatory.release import commit_release, staging_dir
from qpv_observatory.warehouse import DATABASE_NAME, PARQUET_DIR, write_tables


@dg.asset(group_name="analysis", description="Table longue canonique de toutes les valeurs publiées.",
          ins={f"{s}_observations": dg.AssetIn() for s in SOURCES})
def observations(context: dg.AssetExecutionContext, paths: ObservatoryPaths, **per_source: pd.DataFrame) -> pd.DataFrame:
    with input_errors_reported(paths.validation_report, context.run.run_id, "observations"):
        combined = combine_observations([per_source[f"{s}_observations"] for s in SOURCES])
    context.add_output_metadata({"rows": len(combined),
                                 "by_status": combined["status"].value_counts().sort_index().to_dict()})
    return combined


@dg.asset(group_name="analysis", description="Territoires de comparaison dérivés : ensemble des QPV du contrat, "
                                              "commune hors QPV, EPCI hors QPV (secret statistique préservé).")
def comparison_territories(context: dg.AssetExecutionContext, observations: pd.DataFrame,
                           qpv_referential: Referential, indicator_catalogue: Catalogue) -> pd.DataFrame:
    derived = derive_comparison_territories(observations, qpv_referential, indicator_catalogue.indicators)
    context.add_output_metadata({"rows": len(derived),
                                 "by_status": derived["status"].value_counts().sort_index().to_dict()})
    return derived


@dg.asset(group_name="analysis", description="Part de la population de chaque commune et EPCI vivant en QPV.")
def qpv_shares(observations: pd.DataFrame, qpv_referential: Referential,
               indicator_catalogue: Catalogue) -> pd.DataFrame:
    return compute_qpv_shares(observations, qpv_referential, indicator_catalogue.indicators)


@dg.asset(group_name="analysis", description="Écarts et rapports QPV / commune / EPCI et autres niveaux de comparaison.")
def gaps(observations: pd.DataFrame, qpv_referential: Referential, indicator_catalogue: Catalogue,
         comparison_territories: pd.DataFrame) -> pd.DataFrame:
    return compute_gaps(observations, qpv_referential, indicator_catalogue.indicators, comparison_territories)


@dg.asset(group_name="analysis", description="Portrait par QPV : QPV, commune et EPCI côte à côte.")
def gap_portrait(gaps: pd.DataFrame) -> pd.DataFrame:
    return widen_gaps(gaps)


@dg.asset(group_name="publication", description="Entrepôt DuckDB et fichiers Parquet de la version en préparation.")
def curated_warehouse(context: dg.AssetExecutionContext, paths: ObservatoryPaths, indicator_catalogue: Catalogue,
                      qpv_referential: Referential, observations: pd.DataFrame, gaps: pd.DataFrame,
                      gap_portrait: pd.DataFrame, comparison_territories: pd.DataFrame, qpv_shares: pd.DataFrame,
                      contracts: pd.DataFrame, target_progress: pd.DataFrame,
                      partner_representativity: pd.DataFrame) -> dg.MaterializeResult:
    published = write_tables({
        "indicators": indicator_catalogue.indicators,
        "sources": indicator_catalogue.sources,
        "territories": qpv_referential.territories,
        "qpv_links": qpv_referential.qpv_links,
        "commune_epci": qpv_referential.commune_epci,
        "qpv_correspondence": qpv_referential.qpv_correspondence,
        "observations": observations,
        "gaps": gaps,
        "gap_portrait": gap_portrait,
        "comparison_territories": comparison_territories,
        "qpv_shares": qpv_shares,
        "contracts": contracts,
        "target_progress": target_progress,
        "partner_representativity": partner_representativity,
    }, staging_dir(paths.curated, context.run.run_id))
    return dg.MaterializeResult(metadata={"tables": len(published.parquet_files)})


@dg.asset(group_name="publication", description="Histogrammes groupés QPV / commune / EPCI par indicateur (PNG et SVG).")
def indicator_charts(context: dg.AssetExecutionContext, paths: ObservatoryPaths, gap_portrait: pd.DataFrame,
                     indicator_catalogue: Catalogue) -> dg.MaterializeResult:
    written = draw_indicator_charts(gap_portrait, indicator_catalogue.indicators,
                                    staging_dir(paths.curated, context.run.run_id) / "charts", formats=("png", "svg"))
    return dg.MaterializeResult(metadata={"charts": len(written)})


@dg.asset(group_name="publication", deps=["curated_warehouse", "indicator_charts", "evaluation_report"],
          description="Publication d'un seul tenant : la version préparée remplace la version publiée "
                      "(lien data/curated/current) seulement si toutes les vérifications bloquantes sont passées.")
def published_release(context: dg.AssetExecutionContext, paths: ObservatoryPaths) -> dg.MaterializeResult:
    release = commit_release(paths.curated, context.run.run_id, required=(DATABASE_NAME, PARQUET_DIR))
    return dg.MaterializeResult(metadata={"release": dg.MetadataValue.path(str(release)),
                                          "database": dg.MetadataValue.path(str(paths.curated / DATABASE_NAME))})
