"""A refresh killed midway, or read while it runs, never shows evaluators a partial state."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import duckdb

from tests.conftest import digest_tree
from pipelines.resources import PROJECT_ROOT
from qpv_observatory.release import RELEASES, STAGING_PREFIX
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
