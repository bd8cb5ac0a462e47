"""Where the observatory reads and writes: configurable so tests can publish to a temporary folder."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import pandas as pd

from qpv_observatory.manifest import discover_vintages
from qpv_observatory.release import refresh_lock
from qpv_observatory.store import PartitionStore
from qpv_observatory.validation_report import input_errors_reported

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ObservatoryPaths(dg.ConfigurableResource):
    """Raw files, catalogue and curated outputs. Empty strings mean the project's own folders."""

    raw_dir: str = ""
    catalogue_dir: str = ""
    curated_dir: str = ""

    def _resolve(self, configured: str, default: str) -> Path:
        return Path(configured) if configured else PROJECT_ROOT / default

    @property
    def raw(self) -> Path:
        return self._resolve(self.raw_dir, "data/raw")

    @property
    def catalogue(self) -> Path:
        return self._resolve(self.catalogue_dir, "data/catalogue")

    @property
    def curated(self) -> Path:
        return self._resolve(self.curated_dir, "data/curated")

    @property
    def expectations(self) -> Path:
        """great-expectations suites (JSON), versioned with the code."""
        return PROJECT_ROOT / "expectations"

    @property
    def validation_report(self) -> Path:
        return self.curated / "validation"


    @property
    def store(self) -> PartitionStore:
        """The last good tables of each millésime (partitioned assets)."""
        return PartitionStore.in_curated(self.curated)

    def published_vintages(self) -> list[int]:
        """Millésimes of the raw folder whose tables are in the store: what a publication shows."""
        return self.store.published_vintages(discover_vintages(self.raw))


# Input metadata (dg.AssetIn): the only columns of the upstream table that the asset reads.
COLUMNS_METADATA = "columns"


class MillesimeStoreIOManager(dg.ConfigurableIOManager):
    """Partitioned DataFrame assets: one Parquet file per table and millésime.

    A run writes into its staging folder of the store; the ``promoted_millesime`` asset moves the
    folder into place once every blocking check of the millésime has passed. Loading prefers the
    run's own staged table, then the promoted one, and reads only the columns that the input's
    metadata lists under COLUMNS_METADATA, if it does.
    """

    paths: ObservatoryPaths

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self.paths.store.write_staged(context.run_id, int(context.partition_key),
                                             context.asset_key.path[-1], obj)
        context.add_output_metadata({"rows": len(obj), "staged": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table = context.upstream_output.asset_key.path[-1]
        run_id = context.step_context.run_id
        columns = (context.definition_metadata or {}).get(COLUMNS_METADATA)  # None: every column
        frames = [self.paths.store.read(int(key), table, run_id=run_id, columns=columns)
                  for key in sorted(context.asset_partition_keys)]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# Tag of the Dagster runs of one refresh: the validation report gathers their checks.
REFRESH_TAG = "qpv_observatory/refresh"


def in_refresh(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> bool:
    """Whether the step's run belongs to a refresh (which rebuilds the validation page once, at its end)."""
    return REFRESH_TAG in context.run.tags


@contextmanager
def publication_lock(context: dg.AssetExecutionContext, paths: ObservatoryPaths) -> Iterator[None]:
    """For a step that changes what is published (a promoted millésime, the series, the release): the curated
    folder's refresh lock, held by the step when its run was launched outside a refresh (from the Dagster UI).
    A refresh holds it already, for all its runs. Without it, such a run and a refresh could swap the same
    millésime or the same series at once; with it, the one that comes second stops with a clear message."""
    if in_refresh(context):
        yield
    else:
        with refresh_lock(paths.curated):
            yield


def report_scope(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[str, int | None]:
    """Which validation report a step writes into (its refresh, else its run) and for which millésime."""
    report_id = context.run.tags.get(REFRESH_TAG, context.run.run_id)
    return report_id, int(context.partition_key) if context.has_partition_key else None


def input_errors_in_report(context: dg.AssetExecutionContext, paths: ObservatoryPaths, asset: str):
    """A reader's SourceFileError goes into the validation report, then stops the run."""
    report_id, millesime = report_scope(context)
    return input_errors_reported(paths.validation_report, report_id, asset, millesime)


RAW_DIR_ENV = "QPV_OBSERVATORY_RAW_DIR"
CATALOGUE_DIR_ENV = "QPV_OBSERVATORY_CATALOGUE_DIR"
CURATED_DIR_ENV = "QPV_OBSERVATORY_CURATED_DIR"
STORE_IO_MANAGER = "millesime_store"


def default_paths() -> ObservatoryPaths:
    """The project's folders, unless the environment names others (``qpv-observatory run --raw-dir``)."""
    return ObservatoryPaths(raw_dir=os.environ.get(RAW_DIR_ENV, ""), catalogue_dir=os.environ.get(CATALOGUE_DIR_ENV, ""),
                            curated_dir=os.environ.get(CURATED_DIR_ENV, ""))


def observatory_resources(paths: ObservatoryPaths) -> dict:
    """Every resource the assets need, for the given folders."""
    return {"paths": paths, STORE_IO_MANAGER: MillesimeStoreIOManager(paths=paths)}
