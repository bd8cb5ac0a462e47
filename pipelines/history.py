"""Dagster's run history (SQLite) written without waiting for the disk at every event.

Dagster stores each event of a run (step started, input loaded, output handled, check evaluated...)
in SQLite, in its own transaction, opening and closing a connection each time. With SQLite's
default durability (synchronous=FULL) every one of them waits for the disk several times: about
40 ms an event, 8 s a run on the demo. Dagster's databases are in WAL mode, where
synchronous=NORMAL stays consistent and only waits for the disk at checkpoints: a power cut may
lose the latest events of the history, never damage it. The observatory's own state (millésime
store, published release) does not depend on it: our code writes it atomically.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _sync_at_checkpoints(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def relax_history_durability() -> None:
    """Every SQLite connection opened from now on in this process (Dagster's storage) syncs at checkpoints only."""
    if not event.contains(Engine, "connect", _sync_at_checkpoints):
        event.listen(Engine, "connect", _sync_at_checkpoints)
