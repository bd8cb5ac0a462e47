"""Dagster's SQLite history is written with synchronous=NORMAL during a refresh (see pipelines/history.py)."""

import sqlite3

import sqlalchemy as sa

from pipelines.history import relax_history_durability

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
