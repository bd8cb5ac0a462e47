"""A refresh killed midway, read while it runs, or beside a run launched from the Dagster UI, never shows
evaluators a partial state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import dagster as dg
import duckdb

from tests.conftest import DEMO_RAW, digest_tree, failure_messages
from pipelines.definitions import reconstructable_refresh_job
from pipelines.partitions import MILLESIME_PARTITIONS_NAME
from pipelines.refresh import IN_PROCESS, PARTITION_TAG
from pipelines.resources import PROJECT_ROOT, ObservatoryPaths
from qpv_observatory.release import RELEASES, STAGING_PREFIX, refresh_lock
from qpv_observatory.store import PartitionStore
from qpv_observatory.warehouse import DATABASE_NAME, TABLE_DOCS


def _cli(curated, dagster_home, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qpv_observatory.cli", "run", "--curated-dir", str(curated), *extra],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"DAGSTER_HOME": str(dagster_home), "PATH": "/usr/bin:/bin"},
                            start_new_session=True)  # its own process group, killed as a whole


def _staging_with_content(curated):
    folder = curated / RELEASES
    if not folder.is_dir():
        return None
    return next((p for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX) and any(p.iterdir())), None)


def test_refresh_killed_midway_leaves_the_published_outputs(demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    published = digest_tree(curated)

    refresh = _cli(curated, tmp_path / "dagster")
    deadline = time.monotonic() + 240
    while _staging_with_content(curated) is None and refresh.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert refresh.poll() is None, "the refresh ended before it started writing its release"
    os.killpg(refresh.pid, signal.SIGKILL)  # as a power cut or an OOM kill would
    refresh.wait(timeout=30)

    assert _staging_with_content(curated) is not None  # killed while it was writing
    assert digest_tree(curated) == published
    with duckdb.connect(str(curated / DATABASE_NAME), read_only=True) as con:
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(TABLE_DOCS)

    # The next refresh clears what the killed one left and publishes normally.
    rerun = _cli(curated, tmp_path / "dagster")
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert not [p for p in (curated / RELEASES).iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert digest_tree(curated / "parquet") == digest_tree(demo_curated / "parquet")


# A reader as an evaluator runs it: opens the published warehouse, counts every table, again and
# again, and notes each distinct state it saw and any error.
READER = """
import duckdb, json, os, sys
database, tables, stop, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4]
states, errors, reads = [], [], 0
while not os.path.exists(stop):
    try:
        with duckdb.connect(database, read_only=True) as con:
            present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            state = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] if t in present else None
                     for t in tables}
        reads += 1
        if state not in states:
            states.append(state)
    except Exception as exc:
        errors.append(repr(exc))
json.dump({"states": states, "errors": errors, "reads": reads}, open(out, "w"))
"""


def _table_counts(database) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLE_DOCS}


def test_reader_querying_during_refreshes_sees_the_old_or_the_new_state(demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    full = _table_counts(curated / DATABASE_NAME)
    without_2018 = tmp_path / "raw"  # a smaller state: the Cnam 2018 millésime left out
    shutil.copytree(DEMO_RAW, without_2018, ignore=shutil.ignore_patterns("2018"))

    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(curated / DATABASE_NAME), ",".join(TABLE_DOCS),
                               str(stop), str(out)])
    try:
        for raw in (without_2018, DEMO_RAW):  # two switches: full -> smaller -> full
            refresh = _cli(curated, tmp_path / "dagster", "--raw-dir", str(raw), "--without-pictures")
            _, stderr = refresh.communicate(timeout=300)
            assert refresh.returncode == 0, stderr
            if raw == without_2018:
                smaller = _table_counts(curated / DATABASE_NAME)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    seen = json.loads(out.read_text())

    assert seen["errors"] == []
    assert smaller != full and smaller["observations"] < full["observations"]
    assert seen["states"] and all(state in (full, smaller) for state in seen["states"])
    assert smaller in seen["states"] and seen["reads"] > 10  # it did read while the refreshes ran


def _run_outside_a_refresh(curated, instance, assets: list[str], partition: str | None = None):
    """A run as the Dagster UI launches it: the chosen assets only, without the refresh's tag or lock."""
    paths = ObservatoryPaths(curated_dir=str(curated))
    if partition:
        instance.add_dynamic_partitions(MILLESIME_PARTITIONS_NAME, [partition])
    return dg.execute_job(reconstructable_refresh_job(paths), instance, run_config=IN_PROCESS,
                          tags={PARTITION_TAG: partition} if partition else {},
                          asset_selection=[dg.AssetKey(a) for a in assets])


def test_a_promotion_without_the_tables_of_its_run_keeps_the_millesime(demo_curated, tmp_path):
    # The promotion materialised alone (or re-executed after a failure, in a new run) has no table of its own:
    # it would have replaced the millésime's tables with nothing.
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    store = PartitionStore.in_curated(curated)
    before = digest_tree(store.partition_dir(2018))
    with dg.instance_for_test() as instance:
        result = _run_outside_a_refresh(curated, instance, ["promoted_millesime"], "2018")
    assert not result.success
    message = failure_messages(result)
    assert "promotion refusée" in message and "gaps" in message and "observations" in message
    assert digest_tree(store.partition_dir(2018)) == before


def test_a_run_outside_a_refresh_waits_for_no_refresh_to_change_what_is_published(demo_curated, tmp_path):
    curated = tmp_path / "curated"
    shutil.copytree(demo_curated, curated, symlinks=True)
    published = digest_tree(curated)
    series = digest_tree(PartitionStore.in_curated(curated).series_dir("gap_series"))
    with dg.instance_for_test() as instance, refresh_lock(curated):  # a refresh is running
        results = [_run_outside_a_refresh(curated, instance, ["indicator_catalogue", "qpv_referential", "gap_series"]),
                   _run_outside_a_refresh(curated, instance, ["published_release"])]
    for result in results:
        assert not result.success
        assert "déjà en cours" in failure_messages(result)
    assert digest_tree(curated) == published
    assert digest_tree(PartitionStore.in_curated(curated).series_dir("gap_series")) == series
