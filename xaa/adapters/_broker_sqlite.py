"""The broker's attribution log and kill-switch list in SQLite (durable, shared by processes).

Both live in the same file as the vault by default (``xaa-broker.sqlite3``), so
``xaa broker log`` and ``xaa broker revoke`` act on what a running broker uses.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import cast

from ..broker._attribution import MintRecord
from ..broker._killswitch import RevocationTarget, TargetKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xaa_broker_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS xaa_broker_revoked (
    kind TEXT NOT NULL, value TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, value)
) WITHOUT ROWID;
"""


class ThreadLocalSqlite:
    """A SQLite file with one autocommit connection per thread; ``SCHEMA`` runs on open."""

    SCHEMA = _SCHEMA

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._conn().executescript(self.SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            self._local.conn = conn
        return conn


class SqliteAttributionLog(ThreadLocalSqlite):
    """:class:`xaa.broker.AttributionLog` as rows of JSON (never a token: fingerprints only)."""

    def append(self, record: MintRecord) -> None:
        """Append ``record``."""
        self._conn().execute(
            "INSERT INTO xaa_broker_log (time, record) VALUES (?, ?)",
            (record.time, json.dumps(record.to_json(), separators=(",", ":"))),
        )

    def records(self) -> list[MintRecord]:
        """Every record, oldest first."""
        rows = self._conn().execute("SELECT record FROM xaa_broker_log ORDER BY id")
        return [MintRecord.from_json(json.loads(row[0])) for row in rows]


class SqliteRevocationList(ThreadLocalSqlite):
    """:class:`xaa.broker.RevocationList`: active kill-switch targets."""

    def add(self, target: RevocationTarget, at: float) -> None:
        """Revoke ``target``."""
        self._conn().execute(
            "INSERT OR IGNORE INTO xaa_broker_revoked VALUES (?, ?, ?)",
            (target.kind, target.value, at),
        )

    def remove(self, target: RevocationTarget) -> bool:
        """Lift ``target``."""
        cursor = self._conn().execute(
            "DELETE FROM xaa_broker_revoked WHERE kind = ? AND value = ?",
            (target.kind, target.value),
        )
        return cursor.rowcount > 0

    def targets(self) -> list[RevocationTarget]:
        """Every active target."""
        rows = self._conn().execute("SELECT kind, value FROM xaa_broker_revoked ORDER BY at")
        return [RevocationTarget(cast(TargetKind, kind), value) for kind, value in rows]
