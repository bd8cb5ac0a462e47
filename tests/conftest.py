"""Shared fixtures: the pipeline run on the demo data into a temporary curated folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.refresh import RefreshOutcome, refresh
from pipelines.resources import PROJECT_ROOT, ObservatoryPaths
from qpv_observatory.release import CURRENT
from qpv_observatory.warehouse import DATABASE_NAME

SHARED = PROJECT_ROOT.parent / "shared"
# The published Niort tables, carried in the project (tests/reference/README.md) so that a clone alone passes.
NIORT_REFERENCE = PROJECT_ROOT / "tests" / "reference" / "niort_midterm_2019_tables.csv"
DEMO_RAW = PROJECT_ROOT / "data" / "raw"


def run_pipeline(curated_dir: Path, raw_dir: Path = DEMO_RAW, without_pictures: bool = False,
                 raise_on_error: bool = False, catalogue_dir: Path | None = None, vintages: list[int] | None = None,
                 instance: dg.DagsterInstance | None = None) -> RefreshOutcome:
    """Refresh as `qpv-observatory run` does (new or changed millésimes, then publication), with the given
    folders. Charts and the evaluation report are slow on a large extract: ``without_pictures`` skips them."""
    paths = ObservatoryPaths(raw_dir=str(raw_dir), curated_dir=str(curated_dir),
                             catalogue_dir=str(catalogue_dir) if catalogue_dir else "")
    if instance is not None:
        return refresh(paths, instance, vintages=vintages, without_pictures=without_pictures,
                       raise_on_error=raise_on_error)
    with dg.instance_for_test() as fresh:
        return refresh(paths, fresh, vintages=vintages, without_pictures=without_pictures,
                       raise_on_error=raise_on_error)


def failure_messages(result) -> str:
    """What the run says went wrong: readers' errors and the failed checks' descriptions."""
    messages = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            messages.append(error.message)
            error = error.cause
    messages += [e.description or "" for e in result.get_asset_check_evaluations() if not e.passed]
    return "\n".join(messages)


def digest_tree(folder: Path) -> dict[str, str]:
    """What evaluators read: for a curated folder, the name and files of its current release;
    for any other folder (a release's parquet/, charts/...), its files."""
    current = folder / CURRENT
    if current.is_symlink():
        return {CURRENT: os.readlink(current), **digest_tree(current.resolve())}
    root = folder.resolve()
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_on_corrupted_copy(demo_curated: Path, tmp_path: Path, raw_file: str, old: bytes, new: bytes):
    """Copy the published outputs and the demo raw folder, corrupt one raw file, rerun the pipeline.

    Returns the run result, and whether the published outputs were left exactly as they were.
    """
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    before = digest_tree(curated)
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    target = raw / raw_file
    assert old in target.read_bytes(), f"{raw_file} has no {old!r} to replace"
    target.write_bytes(target.read_bytes().replace(old, new))
    result = run_pipeline(curated, raw)
    return result, digest_tree(curated) == before


@pytest.fixture(scope="session")
def demo_curated(tmp_path_factory) -> Path:
    curated = tmp_path_factory.mktemp("curated")
    result = run_pipeline(curated)
    assert result.success
    return curated


@pytest.fixture(scope="session")
def warehouse(demo_curated):
    with duckdb.connect(str(demo_curated / DATABASE_NAME), read_only=True) as con:
        yield con
