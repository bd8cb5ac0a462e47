"""Shared fixtures: the pipeline run on the demo data into a temporary curated folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import all_assets
from pipelines.resources import PROJECT_ROOT, ObservatoryPaths
from qpv_observatory.warehouse import DATABASE_NAME

SHARED = PROJECT_ROOT.parent / "shared"
NIORT_REFERENCE = SHARED / "reference" / "niort_midterm_2019_tables.csv"
DEMO_RAW = PROJECT_ROOT / "data" / "raw"


def run_pipeline(curated_dir: Path, raw_dir: Path = DEMO_RAW) -> dg.ExecuteInProcessResult:
    """Materialise every asset, as `qpv-observatory run` does, with the given folders."""
    paths = ObservatoryPaths(raw_dir=str(raw_dir), curated_dir=str(curated_dir))
    with dg.instance_for_test() as instance:
        return dg.materialize(all_assets, resources={"paths": paths}, instance=instance, raise_on_error=False)


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
