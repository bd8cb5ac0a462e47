"""Asset checks: the great-expectations suites of expectations/ run on each source and curated table.

Every check is blocking: a failed rule of severity "critical" stops the assets downstream, so the
previous DuckDB/Parquet outputs stay as they were, and so does the millésime store (a millésime's
tables are promoted only after its checks). Checks on partitioned assets carry the partitions
definition: they see the run's millésime only. Rules of severity "warning" only flag rows.
Each check also writes its results into the validation report (data/curated/validation/).
"""


from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from pipelines.partitions import MILLESIMES
from pipelines.memory import collect_cycles, release_freed_memory
from pipelines.resources import ObservatoryPaths, in_refresh, report_scope
from qpv_observatory.catalogue import Catalogue
from qpv_observatory.readers.referential import Referential
from qpv_observatory.series import series_files_to_validate, series_parts
from qpv_observatory.validation import (CHANGE_COLUMNS, ValidationOutcome, columns_named, combine_outcomes,
                                        known_territory_codes, load_plausible_ranges, validate_frame,
                                        validate_observations)
from qpv_observatory.warehouse import PARQUET_DIR
from qpv_observatory.validation_report import record_outcome

# One suite for every source, parametrised by the source (its ids and the indicators its variables map to).
SOURCE_SUITE = "sources/source.json"


def _record(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths, name: str, asset: str,
            outcome: ValidationOutcome) -> Path:
    collect_cycles()  # the frames the suite validated, left in great-expectations' cycles
    report_id, millesime = report_scope(context)
    return record_outcome(paths.validation_report, report_id, name, asset, outcome, millesime,
                          render=not in_refresh(context))


def _result(outcome: ValidationOutcome, page: Path | None) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if not outcome.passed else dg.AssetCheckSeverity.WARN
    metadata = {"rows": outcome.rows, "rules": outcome.evaluated, "blocking_findings": len(outcome.blocking),
                "warnings": len(outcome.warnings), "by_status": outcome.status_counts}
    if page is not None:
        metadata["report"] = dg.MetadataValue.path(str(page))
    return dg.AssetCheckResult(passed=not outcome.failed_rules, severity=severity,
                               description=outcome.summary_fr(), metadata=metadata)


def _check_result(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths, name: str, asset: str,
                  outcome: ValidationOutcome) -> dg.AssetCheckResult:
    return _result(outcome, _record(context, paths, name, asset, outcome))


def observation_parameters(catalogue: Catalogue, source: str | None = None) -> dict:
    # Whether a territory is known is a column of prepare_observations, not a parameter list.
    parameters = {"indicator_ids": sorted(catalogue.indicators["indicator_id"])}
    if source is not None:
        # The indicators this source's variables are mapped to (an indicator may come from several sources).
        variables = catalogue.variables
        parameters["source_ids"] = [source]
        parameters["source_indicator_ids"] = sorted(set(variables.loc[variables["source"] == source, "indicator_id"]))
    return parameters


@dg.asset_check(asset="observations", name="source_suites", blocking=True, partitions_def=MILLESIMES,
                description=f"Suite {SOURCE_SUITE} pour chaque source présente dans le millésime : codes, "
                            "référentiel, taux, doublons, statuts.",
                additional_ins={"qpv_referential": dg.AssetIn(), "indicator_catalogue": dg.AssetIn()})
def source_suites(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths, qpv_referential: Referential,
                  indicator_catalogue: Catalogue, observations: pd.DataFrame) -> dg.AssetCheckResult:
    # The same rules for every source (data/catalogue/sources.csv), each source recorded on its own line
    # of the validation report.
    suite = paths.expectations / SOURCE_SUITE
    ranges = load_plausible_ranges(paths.catalogue)
    outcomes = []
    for source in sorted(observations["source"].unique()):
        rows = observations[observations["source"] == source]
        outcome = validate_observations(rows, suite, observation_parameters(indicator_catalogue, source),
                                        qpv_referential, indicator_catalogue.indicators, ranges)
        _record(context, paths, f"{source}_suite", "observations", outcome)
        outcomes.append(outcome)
    outcome = combine_outcomes(outcomes) if outcomes else ValidationOutcome(suite=suite.stem, rows=0, evaluated=0)
    return _result(outcome, None)


@dg.asset_check(asset="observations", blocking=True, partitions_def=MILLESIMES,
                description="Suite expectations/curated/observations.json ; avertissements : valeurs invraisemblables, "
                            "évolutions brutales, QPV sans territoire de comparaison.",
                additional_ins={"qpv_referential": dg.AssetIn(), "indicator_catalogue": dg.AssetIn()})
def observations_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths, observations: pd.DataFrame,
                       qpv_referential: Referential, indicator_catalogue: Catalogue) -> dg.AssetCheckResult:
    # Yearly changes are measured from the latest published millésime before this one.
    vintage = int(context.partition_key)
    earlier = [v for v in paths.published_vintages() if v < vintage][-1:]
    history = paths.store.read_table("observations", earlier, columns=CHANGE_COLUMNS) if earlier else None
    outcome = validate_observations(observations, paths.expectations / "curated" / "observations.json",
                                    observation_parameters(indicator_catalogue), qpv_referential,
                                    indicator_catalogue.indicators, load_plausible_ranges(paths.catalogue),
                                    earlier=history)
    return _check_result(context, paths, "observations_suite", "observations", outcome)


@dg.asset_check(asset="gaps", blocking=True, partitions_def=MILLESIMES, description="Suite expectations/curated/gaps.json.",
                additional_ins={"qpv_referential": dg.AssetIn()})
def gaps_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths,
               qpv_referential: Referential) -> dg.AssetCheckResult:
    # The largest table of a millésime, read here with only the columns the suite names (names, labels and
    # reasons are not): read whole, it made this check the memory peak of a national refresh.
    release_freed_memory()
    suite = paths.expectations / "curated" / "gaps.json"
    vintage, run_id = int(context.partition_key), context.run.run_id
    columns = pq.read_schema(paths.store.table_path(vintage, "gaps", run_id)).names
    gaps = paths.store.read(vintage, "gaps", run_id=run_id, columns=columns_named(suite, columns))
    outcome = validate_frame(gaps, suite,
                             {"known_territory_codes": known_territory_codes(qpv_referential, among=gaps["qpv_code"].unique())})
    return _check_result(context, paths, "gaps_suite", "gaps", outcome)


@dg.asset_check(asset="gap_portrait", blocking=True, partitions_def=MILLESIMES, description="Suite expectations/curated/gap_portrait.json.")
def gap_portrait_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths) -> dg.AssetCheckResult:
    gap_portrait = paths.store.read(int(context.partition_key), "gap_portrait", run_id=context.run.run_id)
    outcome = validate_frame(gap_portrait, paths.expectations / "curated" / "gap_portrait.json")
    return _check_result(context, paths, "gap_portrait_suite", "gap_portrait", outcome)


@dg.asset_check(asset="qpv_referential", blocking=True, description="Suite expectations/curated/territories.json.")
def territories_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths,
                      qpv_referential: Referential) -> dg.AssetCheckResult:
    outcome = validate_frame(qpv_referential.territories, paths.expectations / "curated" / "territories.json")
    return _check_result(context, paths, "territories_suite", "qpv_referential", outcome)


@dg.asset_check(asset="qpv_referential", blocking=True, description="Suite expectations/curated/qpv_links.json.")
def qpv_links_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths,
                    qpv_referential: Referential) -> dg.AssetCheckResult:
    outcome = validate_frame(qpv_referential.qpv_links, paths.expectations / "curated" / "qpv_links.json")
    return _check_result(context, paths, "qpv_links_suite", "qpv_referential", outcome)


@dg.asset_check(asset="gap_series", blocking=True, description="Suite expectations/curated/gap_series.json.")
def gap_series_suite(context: dg.AssetCheckExecutionContext, paths: ObservatoryPaths) -> dg.AssetCheckResult:
    # In parts of whole indicators: the series of every millésime is never held whole in memory. Only the
    # years written again are checked: the others passed this suite before (series.write_gap_series).
    suite = paths.expectations / "curated" / "gap_series.json"
    outcomes = []
    for path in series_files_to_validate(paths.store.series_dir("gap_series")):
        for part in series_parts(path, f"{PARQUET_DIR}/gap_series/{path.name}"):
            if len(part):
                outcomes.append(validate_frame(part, suite))
                collect_cycles()  # each part's frames, left in great-expectations' cycles
    outcome = combine_outcomes(outcomes) if outcomes else ValidationOutcome(suite=suite.stem, rows=0, evaluated=0)
    return _check_result(context, paths, "gap_series_suite", "gap_series", outcome)
