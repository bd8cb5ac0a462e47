"""The yearly refresh: which millésimes to recompute, one Dagster run per millésime, then the publication.

Used by ``qpv-observatory run`` and by the tests, so that both go through the same steps:

1. discover the millésime folders of the raw folder and register them as Dagster partitions;
2. choose the millésimes to refresh: the ones asked for, else the new ones and the ones whose
   inputs changed (fingerprint: checksums of their raw files, the referentials, the catalogue and
   the validation suites, stored beside the promoted millésime);
3. run the shared inputs (catalogue, referentials) once, then one run per millésime: its tables are
   promoted into the millésime store only if all its blocking checks passed;
4. run the unpartitioned assets once (targets, time series, raw file table, warehouse, pictures)
   over every published millésime, into a release folder switched in as one set at the end
   (qpv_observatory/release.py); the published warehouse it starts from is copied in the
   background during step 3;
5. rebuild the validation page once from the records the checks left (qpv_observatory/validation_report.py).

The first failed run stops the refresh: nothing is published, and the failed run's staged tables
are removed, so the store and the published outputs stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import dagster as dg
from dagster._core.utils import make_new_run_id

from pipelines.definitions import all_assets, reconstructable_refresh_job
from pipelines.history import relax_history_durability
from pipelines.memory import long_lived_objects_set_aside, release_freed_memory
from pipelines.partitions import MILLESIME_PARTITIONS_NAME
from pipelines.resources import REFRESH_TAG, ObservatoryPaths
from qpv_observatory.errors import SourceFileError, system_error_from_message
from qpv_observatory.manifest import discover_vintages
from qpv_observatory.release import copy_ahead, discard_copies_ahead, refresh_lock, remove_abandoned_staging
from qpv_observatory.store import vintage_fingerprint
from qpv_observatory.validation_report import RECORDS_DIR, render_report
from qpv_observatory.warehouse import DATABASE_NAME

SHARED_INPUT_ASSETS = ("indicator_catalogue", "qpv_referential")
PICTURE_ASSETS = ("indicator_charts", "evaluation_report")  # charts, maps and the evaluation report
PROMOTION_ASSET = "promoted_millesime"
PARTITION_TAG = "dagster/partition"
UNREADABLE_FINGERPRINT = "illisible : "  # a millésime whose inputs cannot be read (see _fingerprint)
# The runs of a refresh execute in the refresh's process, one step after the other.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


def _asset_keys(partitioned: bool) -> list[dg.AssetKey]:
    keys = []
    for definition in all_assets:
        if isinstance(definition, dg.AssetsDefinition) and definition.keys:
            if (definition.partitions_def is not None) == partitioned:
                keys.extend(definition.keys)
    return sorted(keys, key=lambda k: k.to_user_string())


@dataclass
class RefreshPlan:
    vintages: list[int]  # every millésime of the raw folder
    to_refresh: list[int]
    fingerprints: dict[int, str]


@dataclass(frozen=True)
class RunSummary:
    """What the refresh keeps of a run. Not the run's result itself: an in-process result holds every
    output of the run (whole tables of a millésime), which would pile up over ten millésimes."""

    success: bool
    step_failures: tuple
    check_evaluations: tuple

    @classmethod
    def of(cls, result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> "RunSummary":
        return cls(result.success, tuple(result.get_step_failure_events()),
                   tuple(result.get_asset_check_evaluations()))

    def get_step_failure_events(self) -> list:
        return list(self.step_failures)

    def get_asset_check_evaluations(self) -> list:
        return list(self.check_evaluations)


@dataclass
class RefreshOutcome:
    plan: RefreshPlan
    results: list[RunSummary] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)  # millésimes promoted by this refresh
    failed_vintage: int | None = None

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results) and bool(self.results)

    def get_step_failure_events(self) -> list:
        return [e for r in self.results for e in r.get_step_failure_events()]

    def get_asset_check_evaluations(self) -> list:
        return [e for r in self.results for e in r.get_asset_check_evaluations()]

    def input_errors(self) -> list[str]:
        """Messages of the bad-input errors (SourceFileError) and system errors (disk full, read-only
        folder...) that stopped a run, in French."""
        messages = []
        for event in self.get_step_failure_events():
            error = event.step_failure_data.error
            while error is not None:
                if error.cls_name == SourceFileError.__name__:
                    messages.append(error.message.split(": ", 1)[-1].strip())
                elif (system := system_error_from_message(error.message or "")) is not None:
                    messages.append(system)
                error = error.cause
        return messages

    def failed_checks(self) -> list[str]:
        """The blocking checks that failed (a check with warnings only does not stop a refresh)."""
        return [e.description or "" for e in self.get_asset_check_evaluations()
                if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]


def plan_refresh(paths: ObservatoryPaths, vintages: Iterable[int] | None = None,
                 all_vintages: bool = False) -> RefreshPlan:
    discovered = list(discover_vintages(paths.raw))
    if not discovered:
        raise SourceFileError("data/raw", "aucun millésime : un dossier data/raw/<AAAA>/ avec son sources.toml est attendu")
    asked = sorted(set(vintages or ()))
    unknown = [v for v in asked if v not in discovered]
    if unknown:
        raise SourceFileError("data/raw", f"millésime(s) {', '.join(map(str, unknown))} demandé(s) mais absent(s) "
                                          f"(millésimes présents : {', '.join(map(str, discovered))})")
    fingerprints = {v: _fingerprint(paths, v) for v in (asked or discovered)}
    if all_vintages:
        chosen = discovered
    elif asked:
        chosen = asked
    else:
        chosen = [v for v in discovered if paths.store.fingerprint(v) != fingerprints[v]]
    return RefreshPlan(discovered, chosen, fingerprints)


def _fingerprint(paths: ObservatoryPaths, vintage: int) -> str:
    """The millésime's fingerprint; a manifest that cannot be read gives one that matches no promotion:
    the millésime is refreshed, and its run stops on the manifest's error, recorded on the validation
    page; the other millésimes are planned as usual (``--millesime`` refreshes them)."""
    try:
        return vintage_fingerprint(paths.raw, paths.catalogue, paths.expectations, vintage)
    except SourceFileError as exc:
        return f"{UNREADABLE_FINGERPRINT}{exc}"


def refresh(paths: ObservatoryPaths, instance: dg.DagsterInstance, vintages: Iterable[int] | None = None,
            all_vintages: bool = False, without_pictures: bool = False, run_config: dict | None = None,
            raise_on_error: bool = False) -> RefreshOutcome:
    """Refresh the chosen millésimes, then publish every published millésime (see module docstring)."""
    relax_history_durability()
    with refresh_lock(paths.curated), long_lived_objects_set_aside():  # one refresh at a time per curated folder
        remove_abandoned_staging(paths.curated)  # releases left half-written by a killed or failed refresh
        try:
            return _refresh(paths, instance, vintages, all_vintages, without_pictures, run_config, raise_on_error)
        finally:
            # The checks of the refresh's runs left their records: the page is rebuilt once, failed refresh included.
            if (paths.validation_report / RECORDS_DIR).is_dir():
                render_report(paths.validation_report)


def _refresh(paths: ObservatoryPaths, instance: dg.DagsterInstance, vintages: Iterable[int] | None,
             all_vintages: bool, without_pictures: bool, run_config: dict | None,
             raise_on_error: bool) -> RefreshOutcome:
    paths.store.recover()  # a killed refresh may have left staged tables or a half-swapped millésime
    plan = plan_refresh(paths, vintages, all_vintages)
    known = set(instance.get_dynamic_partitions(MILLESIME_PARTITIONS_NAME))
    new_keys = [str(v) for v in plan.vintages if str(v) not in known]
    if new_keys:
        instance.add_dynamic_partitions(MILLESIME_PARTITIONS_NAME, new_keys)

    job = reconstructable_refresh_job(paths)
    outcome = RefreshOutcome(plan)
    base_config = {**(run_config or {}), **IN_PROCESS}
    base_tags = {REFRESH_TAG: make_new_run_id()}  # tags the refresh's runs: one validation report for all of them

    def execute(selection: list[dg.AssetKey], partition_key: str | None = None, config: dict | None = None) -> bool:
        tags = {**base_tags, **({PARTITION_TAG: partition_key} if partition_key else {})}
        try:
            # execute_job, not execute_in_process: the latter keeps every output of the run in memory.
            result = dg.execute_job(job, instance, run_config={**base_config, **(config or {})}, tags=tags,
                                    asset_selection=selection, raise_on_error=raise_on_error)
        finally:
            paths.store.recover()  # promoted tables were moved out; what is left is a failed run's
            release_freed_memory()
        outcome.results.append(RunSummary.of(result))
        return result.success

    if not execute([dg.AssetKey(k) for k in SHARED_INPUT_ASSETS]):
        return outcome
    # The publication starts from a copy of the published warehouse (hundreds of MB at national scale):
    # made by the kernel on the other core while the millésimes are computed.
    copy = copy_ahead(paths.curated, DATABASE_NAME) if plan.to_refresh else None
    try:
        for vintage in plan.to_refresh:
            promotion = {"ops": {PROMOTION_ASSET: {"config": {"fingerprint": plan.fingerprints[vintage]}}}}
            if not execute(_asset_keys(partitioned=True), str(vintage), promotion):
                outcome.failed_vintage = vintage
                return outcome
            outcome.refreshed.append(vintage)
        if copy is not None:
            copy.join()
        if not paths.published_vintages():
            raise SourceFileError("data/raw", "aucun millésime publié : rien à publier")
        skipped = set(SHARED_INPUT_ASSETS) | (set(PICTURE_ASSETS) if without_pictures else set())
        execute([k for k in _asset_keys(partitioned=False) if k.to_user_string() not in skipped])
        return outcome
    finally:
        if copy is not None:
            copy.join()
            discard_copies_ahead(paths.curated)
