"""Dagster's SQLite history: written with synchronous=NORMAL during a refresh, through connections kept
open (see pipelines/history.py)."""

import sqlite3
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from pipelines.history import (PooledSqliteEventLogStorage, instance_settings, relax_history_durability,
                               write_instance_settings)

SYNCHRONOUS_NORMAL, SYNCHRONOUS_FULL = 1, 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


def test_sqlite_connections_opened_through_sqlalchemy_sync_at_checkpoints_only(tmp_path):
    relax_history_durability()
    relax_history_durability()  # idempotent: one listener
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'history.db'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA synchronous")).scalar() == SYNCHRONOUS_NORMAL
    # Connections made without SQLAlchemy keep SQLite's default.
    plain = sqlite3.connect(tmp_path / "other.db")
    assert plain.execute("PRAGMA synchronous").fetchone()[0] == SYNCHRONOUS_FULL
    plain.close()


def _materialise_twice(instance):
    @dg.asset
    def counted() -> int:
        return 1

    for _ in range(2):
        assert dg.materialize([counted], instance=instance).success


def test_a_new_dagster_home_keeps_its_history_through_connections_kept_open(tmp_path):
    write_instance_settings(tmp_path)
    connections = []

    def count(dbapi_connection, _record):  # the database file each new connection opens
        connections.append(dbapi_connection.execute("PRAGMA database_list").fetchone()[2])

    sa.event.listen(sa.engine.Engine, "connect", count)
    try:
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
            before = len(connections)
            _materialise_twice(instance)
            opened = [Path(file).name for file in connections[before:] if Path(file).parent.name == "runs"]
            run_ids = [record.dagster_run.run_id for record in instance.get_run_records()]
    finally:
        sa.event.remove(sa.engine.Engine, "connect", count)
    # Two runs of about 20 events each: Dagster's own event log opens some 80 connections; kept open, at
    # most two per database (the first use creates its tables): the two runs' and the index.
    assert set(opened) == {f"{run_id}.db" for run_id in run_ids} | {"index.db"}
    assert max(opened.count(name) for name in opened) <= 2, opened
    assert (tmp_path / "history" / "runs" / f"{run_ids[0]}.db").is_file()
    # Another process reads the same history: the runs, their events and the asset's latest materialisation.
    with dg.DagsterInstance.from_config(str(tmp_path)) as reader:
        assert sorted(r.dagster_run.run_id for r in reader.get_run_records()) == sorted(run_ids)
        events = reader.all_logs(run_ids[0])
        assert any(e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_SUCCESS for e in events)
        latest = reader.get_latest_materialization_event(dg.AssetKey("counted"))
        assert latest is not None and latest.run_id == run_ids[0]  # records come newest first


def test_dagster_settings_are_written_once_and_an_edited_file_is_kept(tmp_path):
    settings = tmp_path / "dagster.yaml"
    settings.write_text("telemetry:\n  enabled: false\n")  # what earlier versions wrote
    write_instance_settings(tmp_path)
    assert settings.read_text() == instance_settings(tmp_path)
    assert f"base_dir: {(tmp_path / 'history' / 'runs').as_posix()}" in settings.read_text()
    edited = settings.read_text() + "run_retries:\n  enabled: false\n"
    settings.write_text(edited)
    write_instance_settings(tmp_path)
    assert settings.read_text() == edited
