"""Dagster's run history (SQLite): written without waiting for the disk at every event, through
connections kept open.

Dagster stores each event of a run (step started, input loaded, output handled, check evaluated...)
in SQLite, in its own transaction:

- With SQLite's default durability (synchronous=FULL) every event waits for the disk several times:
  about 40 ms an event, 8 s a run on the demo. Dagster's databases are in WAL mode, where
  synchronous=NORMAL stays consistent and only waits for the disk at checkpoints: a power cut may
  lose the latest events of the history, never damage it. The observatory's own state (millésime
  store, published release) does not depend on it: our code writes it atomically.
- Dagster's SQLite event log builds a new SQLAlchemy engine and connection for every statement
  (about four per event), so that nothing stays open: 14 ms an event on the reference machine, about
  3,100 events in a national full refresh. ``PooledSqliteEventLogStorage`` keeps one engine per
  database file open for the life of the process: 3 ms an event.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# What the command line writes in a new Dagster home (dagster.yaml): no usage statistics sent out (the
# observatory runs offline), and the event log below.
INSTANCE_SETTINGS = """\
telemetry:
  enabled: false
event_log_storage:
  module: pipelines.history
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {runs_dir}
"""
# Settings an earlier version of the command line wrote: replaced by the current ones.
EARLIER_INSTANCE_SETTINGS = ("telemetry:\n  enabled: false\n",)
OPEN_DATABASES = 8  # one per run being written or read, plus the index


def _sync_at_checkpoints(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def relax_history_durability() -> None:
    """Every SQLite connection opened from now on in this process (Dagster's storage) syncs at checkpoints only."""
    if not event.contains(Engine, "connect", _sync_at_checkpoints):
        event.listen(Engine, "connect", _sync_at_checkpoints)


def instance_settings(dagster_home: Path) -> str:
    """dagster.yaml for a Dagster home: the run history in its ``history/runs`` folder, as Dagster's default."""
    return INSTANCE_SETTINGS.format(runs_dir=(dagster_home.resolve() / "history" / "runs").as_posix())


def write_instance_settings(dagster_home: Path) -> None:
    """Write dagster.yaml in a new Dagster home (or over the settings an earlier version wrote); a file
    someone edited is left as it is."""
    settings = dagster_home / "dagster.yaml"
    current = settings.read_text(encoding="utf-8") if settings.exists() else ""
    if not current.strip() or current in EARLIER_INSTANCE_SETTINGS:
        settings.write_text(instance_settings(dagster_home), encoding="utf-8")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (one database per run, plus an index), each database reached through
    an engine kept open, the last OPEN_DATABASES of them. Same files, same tables: Dagster's UI and
    instance read them as usual."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "PooledSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard),
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            self._engines[shard] = engine  # the most recently used last
            while len(self._engines) > OPEN_DATABASES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def _forget_engines(self) -> None:
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As Dagster's own, but for the engine: the lock and the first-use initialisation are the same.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def wipe(self) -> None:
        self._forget_engines()  # the run databases are deleted: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._forget_engines()
        super().dispose()
