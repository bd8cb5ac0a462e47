"""Analysis and publication: canonical observations, gaps, DuckDB/Parquet outputs, charts.

The analysis assets are partitioned by millésime and kept in the millésime store
(``promoted_millesime`` promotes a millésime once its blocking checks passed). The publication
assets are not partitioned: they read every published millésime from the store.
"""


import dagster as dg
import pandas as pd

from pipelines.memory import release_freed_memory
from pipelines.partitions import MILLESIMES
from pipelines.resources import (STORE_IO_MANAGER, ObservatoryPaths, in_refresh, input_errors_in_report,
                                 publication_lock, report_scope)
from qpv_observatory.catalogue import Catalogue
from qpv_observatory.commune_context import attribute_commune_context
from qpv_observatory.ingest import read_millesime_observations, refuse_empty_millesime
from qpv_observatory.manifest import MANIFEST_ROLE, REFERENTIAL_ROLE, TARGETS_ROLE, load_manifest, raw_file_table
from qpv_observatory.perimeter import left_out_summary_fr, within_perimeter
from qpv_observatory.readers.referential import Referential
from qpv_observatory.series import confirm_series, write_gap_series
from qpv_observatory.sql.engine import (build, build_order, connect, documentation, read_observations,
                                        register_inputs, write_parquet)
from qpv_observatory.store import RAW_FILES_TABLE, vintage_fingerprint, vintage_raw_files
from qpv_observatory.release import commit_release, copy_made_ahead, current_release, staging_dir
from qpv_observatory.validation_report import perimeter_outcome, record_outcome
from qpv_observatory.warehouse import (DATABASE_NAME, MILLESIME_COLUMN, MILLESIMES_TABLE, PARQUET_DIR, MillesimeFiles,
                                       YearFiles, write_tables, year_files)

# Tables of a millésime, in the store and in the warehouse (one row per millésime and line).
MILLESIME_TABLES = ("observations", "gaps", "gap_portrait", "comparison_territories", "qpv_shares")
# Every partitioned asset: a millésime is promoted only when all of them, and their checks, succeeded.
PARTITIONED_ASSETS = MILLESIME_TABLES


@dg.asset(group_name="analysis", description="Table longue canonique de toutes les valeurs publiées d'un millésime, "
                                              "lues dans les fichiers bruts de son manifeste (toutes sources).",
          partitions_def=MILLESIMES, io_manager_key=STORE_IO_MANAGER)
def observations(context: dg.AssetExecutionContext, paths: ObservatoryPaths, indicator_catalogue: Catalogue,
                 qpv_referential: Referential) -> pd.DataFrame:
    with input_errors_in_report(context, paths, "observations"):
        manifest = load_manifest(paths.raw, [int(context.partition_key)])
        combined = read_millesime_observations(paths.raw, manifest, indicator_catalogue)
        combined, left_out = within_perimeter(combined, manifest.perimeter, qpv_referential)
        combined = refuse_empty_millesime(attribute_commune_context(combined, qpv_referential),
                                          int(context.partition_key))
    if len(left_out):
        report_id, millesime = report_scope(context)
        record_outcome(paths.validation_report, report_id, "perimetre", "observations",
                       perimeter_outcome(left_out_summary_fr(left_out), int(left_out["rows"].sum())), millesime,
                       render=not in_refresh(context))
    context.add_output_metadata({"by_status": combined["status"].value_counts().sort_index().to_dict(),
                                 "left_out_rows": int(left_out["rows"].sum()) if len(left_out) else 0,
                                 "by_source": combined["source"].value_counts().sort_index().to_dict(),
                                 "files": sorted(combined["source_file"].unique().tolist())})
    return combined


# Tables computed in SQL from the observations (qpv_observatory/sql/<table>.sql, documented there).
DERIVED_ASSETS = ("comparison_territories", "qpv_shares", "gaps", "gap_portrait")


@dg.multi_asset(specs=[dg.AssetSpec(table, group_name="analysis", partitions_def=MILLESIMES,
                                    description=documentation(table),
                                    deps=["observations", "qpv_referential", "indicator_catalogue"])
                       for table in DERIVED_ASSETS],
                ins={"qpv_referential": dg.AssetIn(), "indicator_catalogue": dg.AssetIn()})
def derived_tables(context: dg.AssetExecutionContext, paths: ObservatoryPaths, qpv_referential: Referential,
                   indicator_catalogue: Catalogue):
    """The derived tables of the millésime on one DuckDB connection, from the observations the run staged to
    the run's staging folder of the store: no table goes through pandas."""
    vintage, run_id = int(context.partition_key), context.run.run_id
    with connect() as con:
        register_inputs(con, qpv_referential, indicator_catalogue.indicators)
        read_observations(con, paths.store.table_path(vintage, "observations", run_id))
        for table in build_order("gap_portrait") + ["qpv_shares"]:
            build(con, table)
        for table in DERIVED_ASSETS:
            path = paths.store.staged_dir(run_id, vintage) / f"{table}.parquet"
            rows = write_parquet(con, table, path)
            yield dg.MaterializeResult(asset_key=table, metadata={"rows": rows, "staged": dg.MetadataValue.path(str(path))})


class PromotionConfig(dg.Config):
    # Checksum of the millésime's inputs, computed by the refresh before the run; empty: computed here.
    fingerprint: str = ""


@dg.asset(group_name="analysis", partitions_def=MILLESIMES, deps=list(PARTITIONED_ASSETS),
          description="Millésime validé : ses tables remplacent celles du dépôt des millésimes (data/curated/store/) "
                      "une fois tous ses contrôles bloquants passés ; sinon le dernier bon état reste en place.")
def promoted_millesime(context: dg.AssetExecutionContext, config: PromotionConfig,
                       paths: ObservatoryPaths) -> dg.MaterializeResult:
    vintage = int(context.partition_key)
    fingerprint = config.fingerprint or vintage_fingerprint(paths.raw, paths.catalogue, paths.expectations, vintage)
    with publication_lock(context, paths):
        folder = paths.store.promote(context.run.run_id, vintage, fingerprint, vintage_raw_files(paths.raw, vintage),
                                     tables=PARTITIONED_ASSETS)
    return dg.MaterializeResult(metadata={"fingerprint": fingerprint, "folder": dg.MetadataValue.path(str(folder))})


@dg.asset(group_name="publication", deps=[promoted_millesime],
          description="Fichiers bruts utilisés par l'état publié : chemin, taille, SHA-256, lecteur, source, millésime.")
def raw_files(paths: ObservatoryPaths) -> pd.DataFrame:
    shared = raw_file_table(paths.raw, load_manifest(paths.raw, vintages=()),
                            roles=(MANIFEST_ROLE, REFERENTIAL_ROLE, TARGETS_ROLE))
    per_millesime = paths.store.read_table(RAW_FILES_TABLE, paths.published_vintages())
    return pd.concat([shared, per_millesime], ignore_index=True).astype(shared.dtypes.to_dict())


@dg.asset(group_name="publication", deps=[promoted_millesime],
          description="Séries par QPV, indicateur et niveau de comparaison : évolution de la valeur et de l'écart, "
                      "ruptures (géographie 2015 → 2024, changements de méthode).")
def gap_series(context: dg.AssetExecutionContext, paths: ObservatoryPaths, qpv_referential: Referential,
               indicator_catalogue: Catalogue) -> dg.MaterializeResult:
    with publication_lock(context, paths):
        vintages = paths.published_vintages()
        written = write_gap_series(dict(zip(vintages, paths.store.table_files("gaps", vintages))),
                                   {v: paths.store.promotion(v) for v in vintages},
                                   qpv_referential.qpv_correspondence, indicator_catalogue.method_breaks,
                                   paths.store.series_dir("gap_series"))
    # from_year: only the rows of these years were computed again (None: all of them).
    return dg.MaterializeResult(metadata={"rows": written.rows, "from_year": written.from_year,
                                          "folder": dg.MetadataValue.path(str(paths.store.series_dir("gap_series")))})


@dg.asset(group_name="publication", deps=[promoted_millesime, gap_series],
          description="Entrepôt DuckDB et fichiers Parquet de la version en préparation : tous les millésimes publiés.")
def curated_warehouse(context: dg.AssetExecutionContext, paths: ObservatoryPaths, indicator_catalogue: Catalogue,
                      qpv_referential: Referential, contracts: pd.DataFrame, target_progress: pd.DataFrame,
                      partner_representativity: pd.DataFrame, raw_files: pd.DataFrame) -> dg.MaterializeResult:
    with publication_lock(context, paths):
        # The series passed its suite (a blocking check upstream): the next refresh may build on it.
        confirm_series(paths.store.series_dir("gap_series"))
    release_freed_memory()  # DuckDB takes up to MEMORY_LIMIT: on top of what the steps before it left
    vintages = paths.published_vintages()
    promotions = {v: paths.store.promotion(v) for v in vintages}
    millesimes = pd.DataFrame({MILLESIME_COLUMN: pd.Series(vintages, dtype="int64"),
                               "fingerprint": [paths.store.fingerprint(v) for v in vintages],
                               "promotion": [promotions[v] for v in vintages]})
    previous = current_release(paths.curated)
    published = write_tables({
        "indicators": indicator_catalogue.indicators,
        "sources": indicator_catalogue.sources,
        "method_breaks": indicator_catalogue.method_breaks,
        "territories": qpv_referential.territories,
        "qpv_links": qpv_referential.qpv_links,
        "commune_epci": qpv_referential.commune_epci,
        "qpv_correspondence": qpv_referential.qpv_correspondence,
        **{table: MillesimeFiles(dict(zip(vintages, paths.store.table_files(table, vintages))), promotions)
           for table in MILLESIME_TABLES},
        MILLESIMES_TABLE: millesimes,
        "gap_series": YearFiles(year_files(paths.store.series_dir("gap_series"))),
        "raw_files": raw_files,
        "contracts": contracts,
        "target_progress": target_progress,
        "partner_representativity": partner_representativity,
    }, staging_dir(paths.curated, context.run.run_id), previous=previous / DATABASE_NAME if previous else None,
        previous_copy=copy_made_ahead(paths.curated, previous / DATABASE_NAME) if previous else None)
    # Which millésimes each table had to write again (the others were kept from the published release).
    rewritten = {table: "tous" if done is None else done for table, done in published.rebuilt.items()}
    return dg.MaterializeResult(metadata={"millesimes": vintages, "tables": len(published.parquet_files),
                                          "rewritten": rewritten})


@dg.asset(group_name="publication", deps=[promoted_millesime],
          description="Histogrammes groupés QPV / commune / EPCI par indicateur (PNG et SVG).")
def indicator_charts(context: dg.AssetExecutionContext, paths: ObservatoryPaths,
                     indicator_catalogue: Catalogue) -> dg.MaterializeResult:
    # Imported here: matplotlib is loaded only when pictures are drawn (not by `run --without-pictures`).
    from qpv_observatory.charts import indicator_charts as draw_indicator_charts

    gap_portrait = paths.store.read_table("gap_portrait", paths.published_vintages())
    written = draw_indicator_charts(gap_portrait, indicator_catalogue.indicators,
                                    staging_dir(paths.curated, context.run.run_id) / "charts", formats=("png", "svg"))
    return dg.MaterializeResult(metadata={"charts": len(written)})


@dg.asset(group_name="publication", deps=["curated_warehouse", "indicator_charts", "evaluation_report"],
          description="Publication d'un seul tenant : la version préparée remplace la version publiée "
                      "(lien data/curated/current) seulement si toutes les vérifications bloquantes sont passées.")
def published_release(context: dg.AssetExecutionContext, paths: ObservatoryPaths) -> dg.MaterializeResult:
    with publication_lock(context, paths):
        release = commit_release(paths.curated, context.run.run_id, required=(DATABASE_NAME, PARQUET_DIR))
    return dg.MaterializeResult(metadata={"release": dg.MetadataValue.path(str(release)),
                                          "database": dg.MetadataValue.path(str(paths.curated / DATABASE_NAME))})
