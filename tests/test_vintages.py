"""Yearly refresh: a new millésime is materialised alone, the published ones stay as they were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.resources import PROJECT_ROOT
from qpv_observatory.store import PartitionStore
from qpv_observatory.warehouse import DATABASE_NAME
from tests.conftest import DEMO_RAW, run_pipeline

CNAF_2017 = "2017/cnaf/cnaf2017_allocataires_qpv_niort.csv"
# Test values only: the demo's Cnaf 2017 file has no share of single-parent families; the test adds
# one so that the 2016 and 2017 series meet.
FAMILLES_MONOPARENTALES_2017 = {"QP079001": "26,0", "QP079002": "24,5", "QP079003": "20,1", "79191": "17,5",
                                "200041317": "16,0"}


def store_files(curated: Path, vintage: int) -> dict[str, tuple[bytes, int]]:
    folder = PartitionStore.in_curated(curated).partition_dir(vintage)
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def query(curated: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(curated / DATABASE_NAME), read_only=True) as con:
        return con.execute(sql).fetchall()


def materialised_partitions(instance: dg.DagsterInstance, asset: str) -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
    return sorted(r.partition_key for r in records)


@pytest.fixture
def raw_2016(tmp_path) -> Path:
    """The demo raw folder with the 2016 millésime only, and a catalogue that maps the 2017 test column."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for shared in ("sources.toml", "referentiels", "targets", "2016"):
        source = DEMO_RAW / shared
        (shutil.copytree if source.is_dir() else shutil.copy)(source, raw / shared)
    return raw


@pytest.fixture
def catalogue(tmp_path) -> Path:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", catalogue)
    with (catalogue / "source_variables.csv").open("a", encoding="utf-8") as handle:
        handle.write("cnaf;2017;PART_FAM_MONO;part_familles_monoparentales_caf\n")
    return catalogue


def add_2017(raw: Path) -> None:
    shutil.copytree(DEMO_RAW / "2017", raw / "2017")
    path = raw / CNAF_2017
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ";PART_FAM_MONO"] + [f"{line};{FAMILLES_MONOPARENTALES_2017[line.split(';')[2]]}"
                                            for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_second_millesime_is_refreshed_alone_and_the_first_is_unchanged(raw_2016, catalogue, tmp_path):
    curated = tmp_path / "curated"
    with dg.instance_for_test() as instance:
        first = run_pipeline(curated, raw_2016, without_pictures=True, catalogue_dir=catalogue, instance=instance,
                             raise_on_error=True)
        assert first.success and first.refreshed == [2016]
        store_2016 = store_files(curated, 2016)
        rows_2016 = query(curated, "SELECT * FROM observations ORDER BY ALL")
        gaps_2016 = query(curated, "SELECT * FROM gaps ORDER BY ALL")

        add_2017(raw_2016)
        second = run_pipeline(curated, raw_2016, without_pictures=True, catalogue_dir=catalogue, instance=instance,
                              raise_on_error=True)
        assert second.success and second.refreshed == [2017]
        # Dagster's event log: each partitioned asset materialised once for 2016 (first refresh), once for 2017.
        for asset in ("observations", "gaps", "gap_portrait", "promoted_millesime"):
            assert materialised_partitions(instance, asset) == ["2016", "2017"], asset
        assert sorted(instance.get_dynamic_partitions("millesime")) == ["2016", "2017"]

        third = run_pipeline(curated, raw_2016, without_pictures=True, catalogue_dir=catalogue, instance=instance)
        assert third.success and third.refreshed == []  # unchanged inputs: publication only

    assert store_files(curated, 2016) == store_2016  # same bytes, not even rewritten
    # The validation report keeps the checks each published millésime passed, refreshed or not this time.
    records = [json.loads(p.read_text(encoding="utf-8")) for p in (curated / "validation" / "records").glob("*.json")]
    assert {r["millesime"] for r in records if r["name"] == "observations_suite"} == {2016, 2017}
    assert query(curated, "SELECT * FROM observations WHERE vintage = 2016 ORDER BY ALL") == rows_2016
    assert query(curated, "SELECT * FROM gaps WHERE year = 2016 ORDER BY ALL") == gaps_2016
    assert query(curated, "SELECT DISTINCT vintage FROM observations ORDER BY 1") == [(2016,), (2017,)]
    assert query(curated, "SELECT DISTINCT vintage FROM raw_files WHERE role = 'file' ORDER BY 1") == [(2016,), (2017,)]

    series = query(curated, """
        SELECT year, previous_year, qpv_value, qpv_value_change, gap, gap_change, comparability, method_break
        FROM gap_series WHERE qpv_code = 'QP079001' AND indicator_id = 'part_familles_monoparentales_caf'
          AND comparison_level = 'commune' ORDER BY year""")
    assert [r[:2] for r in series] == [(2016, None), (2017, 2016)]
    year, previous, value, change, gap, gap_change, comparability, method_break = series[1]
    assert (value, change) == (26.0, pytest.approx(0.8))
    assert gap == pytest.approx(26.0 - 17.5) and gap_change == pytest.approx((26.0 - 17.5) - (25.2 - 17.3))
    assert (comparability, method_break) == ("comparable", None)


def test_failed_millesime_keeps_its_last_good_tables_and_a_later_refresh_publishes_them(demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    raw = tmp_path / "raw"
    shutil.copytree(DEMO_RAW, raw)
    good_2017 = store_files(curated, 2017)
    cnaf = raw / CNAF_2017
    cnaf.write_bytes(cnaf.read_bytes().replace(b";55;", b";155;"))  # a share above 100 %: blocking

    failed = run_pipeline(curated, raw, without_pictures=True)
    assert not failed.success and failed.failed_vintage == 2017 and failed.refreshed == []
    assert store_files(curated, 2017) == good_2017
    assert not list((PartitionStore.in_curated(curated).root / ".staging").glob("*/*"))

    later = run_pipeline(curated, raw, without_pictures=True, vintages=[2018])
    assert later.success and later.refreshed == [2018]
    assert store_files(curated, 2017) == good_2017
    assert query(curated, "SELECT value FROM observations WHERE indicator_id = 'part_aah' "
                          "AND territory_code = 'QP079001'") == [(55.0,)]
    # The manifest names the bytes the published 2017 figures come from, not the rejected file.
    published = query(curated, f"SELECT sha256 FROM raw_files WHERE path = 'data/raw/{CNAF_2017}'")
    original = query(demo_curated, f"SELECT sha256 FROM raw_files WHERE path = 'data/raw/{CNAF_2017}'")
    assert published == original and len(published) == 1


def test_filtered_reads_of_a_table_written_without_values_find_no_row(tmp_path):
    # A millésime with no derived territory wrote its table's columns without a type (older versions did);
    # pyarrow refuses to compare such a column with a filter's values.
    import pandas as pd

    store = PartitionStore(tmp_path)
    store.write_staged("run", 2024, "untyped", pd.DataFrame({"indicator_id": pd.Series([None], dtype=object),
                                                             "value": [1.0]}).iloc[:0])
    store.write_staged("run", 2024, "typed", pd.DataFrame({"indicator_id": ["a", "b"], "value": [1.0, 2.0]}))
    filters = [("indicator_id", "in", ["a"])]
    empty = store.read(2024, "untyped", run_id="run", columns=["indicator_id", "value"], filters=filters)
    assert empty.empty and list(empty.columns) == ["indicator_id", "value"]
    assert store.read(2024, "typed", run_id="run", filters=filters)["value"].tolist() == [1.0]
