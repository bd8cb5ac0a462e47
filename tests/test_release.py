"""Set-level publication: a release is switched in as one, or not at all."""

from __future__ import annotations

import os

import duckdb
import pandas as pd
import pytest

from qpv_observatory.release import (CURRENT, ENTRY_POINTS, RELEASES, RefreshInProgress, commit_release,
                                     copy_ahead, copy_made_ahead, current_release, discard_copies_ahead,
                                     refresh_lock, remove_abandoned_staging, staging_dir)


def _stage(curated, run_id: str, rows: int):
    folder = staging_dir(curated, run_id)
    with duckdb.connect(str(folder / "observatoire_qpv.duckdb")) as con:
        con.execute(f"CREATE TABLE observations AS SELECT range AS v FROM range({rows})")
    (folder / "parquet").mkdir()
    (folder / "parquet" / "marker.txt").write_text(run_id)
    return folder


def _published_rows(curated) -> int:
    with duckdb.connect(str(curated / "observatoire_qpv.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*) FROM observations").fetchone()[0]


def test_commit_switches_database_and_parquet_together(tmp_path):
    _stage(tmp_path, "run1", 3)
    first = commit_release(tmp_path, "run1", required=("observatoire_qpv.duckdb",))
    assert current_release(tmp_path) == first
    assert _published_rows(tmp_path) == 3
    _stage(tmp_path, "run2", 5)
    second = commit_release(tmp_path, "run2", required=("observatoire_qpv.duckdb",))
    assert current_release(tmp_path) == second != first
    assert _published_rows(tmp_path) == 5
    assert (tmp_path / "parquet" / "marker.txt").read_text() == "run2"
    assert all((tmp_path / name).is_symlink() for name in ("observatoire_qpv.duckdb", "parquet"))
    assert not any(p.name.startswith(".staging-") for p in (tmp_path / RELEASES).iterdir())


def test_entry_points_lead_to_what_the_current_release_holds(tmp_path):
    """A release published without pictures leaves no charts or report link leading nowhere."""
    folder = _stage(tmp_path, "run1", 3)
    (folder / "charts").mkdir()
    (folder / "charts" / "chart.png").write_bytes(b"png")
    commit_release(tmp_path, "run1")
    assert (tmp_path / "charts" / "chart.png").read_bytes() == b"png"
    assert not (tmp_path / "report").is_symlink() and not (tmp_path / "report").exists()
    _stage(tmp_path, "run2", 5)  # --without-pictures
    commit_release(tmp_path, "run2")
    assert [name for name in ENTRY_POINTS if (tmp_path / name).is_symlink()] == ["observatoire_qpv.duckdb", "parquet"]
    assert all((tmp_path / name).exists() for name in ("observatoire_qpv.duckdb", "parquet"))


def test_incomplete_staging_leaves_the_published_release(tmp_path):
    _stage(tmp_path, "run1", 3)
    published = commit_release(tmp_path, "run1", required=("observatoire_qpv.duckdb",))
    staging_dir(tmp_path, "run2")  # a run that wrote nothing before failing
    with pytest.raises(RuntimeError, match="publication incomplète"):
        commit_release(tmp_path, "run2", required=("observatoire_qpv.duckdb",))
    assert current_release(tmp_path) == published
    assert _published_rows(tmp_path) == 3
    assert [p.name for p in remove_abandoned_staging(tmp_path)] == [".staging-run2"]


def test_outputs_of_an_older_version_are_replaced_by_entry_points(tmp_path):
    (tmp_path / "parquet").mkdir()
    (tmp_path / "parquet" / "observations.parquet").write_bytes(b"old")
    (tmp_path / "observatoire_qpv.duckdb").write_bytes(b"old")
    _stage(tmp_path, "run1", 2)
    commit_release(tmp_path, "run1")
    assert (tmp_path / "parquet").is_symlink() and (tmp_path / "parquet" / "marker.txt").exists()
    assert _published_rows(tmp_path) == 2


def test_old_releases_are_pruned_but_the_previous_one_is_kept(tmp_path):
    releases = []
    for number in range(5):
        _stage(tmp_path, f"run{number}", number + 1)
        releases.append(commit_release(tmp_path, f"run{number}"))
    kept = sorted(p for p in (tmp_path / RELEASES).iterdir())
    assert kept == releases[-3:]
    assert (tmp_path / CURRENT).resolve() == releases[-1]


def test_a_second_refresh_on_the_same_folder_is_refused(tmp_path):
    with refresh_lock(tmp_path):
        with pytest.raises(RefreshInProgress, match="déjà en cours"):
            with refresh_lock(tmp_path):
                pass
    with refresh_lock(tmp_path):  # released on exit
        pass


def test_the_published_database_is_copied_ahead_and_only_that_copy_is_taken(tmp_path):
    assert copy_ahead(tmp_path, "observatoire_qpv.duckdb") is None  # nothing published yet
    _stage(tmp_path, "run1", 3)
    release = commit_release(tmp_path, "run1", required=("observatoire_qpv.duckdb",))
    published = release / "observatoire_qpv.duckdb"
    copy_ahead(tmp_path, "observatoire_qpv.duckdb").join()
    copy = copy_made_ahead(tmp_path, published)
    assert copy is not None and copy != published and copy.read_bytes() == published.read_bytes()
    # A copy of another state of the file is not taken: the publication copies the file itself.
    os.utime(published, ns=(1, 1))
    assert copy_made_ahead(tmp_path, published) is None
    discard_copies_ahead(tmp_path)
    assert not any(p.name.startswith(".staging-") for p in (tmp_path / RELEASES).iterdir())


def test_the_warehouse_takes_the_copy_made_ahead_and_keeps_the_published_file(tmp_path):
    from qpv_observatory.warehouse import write_tables

    observations = pd.DataFrame({"indicator_id": ["a", "b"], "value": [1.0, 2.0]})
    first = write_tables({"observations": observations}, staging_dir(tmp_path, "run1"))
    release = commit_release(tmp_path, "run1", required=("observatoire_qpv.duckdb",))
    published = release / "observatoire_qpv.duckdb"
    before = published.read_bytes()
    copy_ahead(tmp_path, "observatoire_qpv.duckdb").join()
    copy = copy_made_ahead(tmp_path, published)
    more = pd.concat([observations, observations.assign(indicator_id="c")], ignore_index=True)
    second = write_tables({"observations": more}, staging_dir(tmp_path, "run2"), previous=published,
                          previous_copy=copy)
    assert not copy.exists()  # moved into the new release, not copied again
    assert published.read_bytes() == before
    with duckdb.connect(str(second.database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM observations").fetchone()[0] == 4
    assert first.database != second.database


def test_a_release_never_switched_to_is_removed_by_the_next_refresh(tmp_path, monkeypatch):
    _stage(tmp_path, "run1", 3)
    superseded = commit_release(tmp_path, "run1")  # kept a while for readers who resolved it
    _stage(tmp_path, "run2", 1)
    published = commit_release(tmp_path, "run2")
    _stage(tmp_path, "run3", 5)
    # Killed between the rename into releases/ and the switch of current.
    monkeypatch.setattr("qpv_observatory.release.os.replace", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        commit_release(tmp_path, "run3")
    monkeypatch.undo()
    orphan = next(p for p in (tmp_path / "releases").iterdir() if p.name.endswith("-run3"))
    assert current_release(tmp_path) == published and orphan.is_dir()
    assert [p.name for p in remove_abandoned_staging(tmp_path)] == [orphan.name]
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == sorted([superseded.name, published.name])
