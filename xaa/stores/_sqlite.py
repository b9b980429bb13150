"""A :class:`~xaa.ReplayStore` in SQLite: durable, shared by processes on one host.

One row per ``(namespace, iss, jti)`` (the primary key) with its holder and
expiry. ``claim`` runs one ``BEGIN IMMEDIATE`` transaction: delete an expired
row for the key, ``INSERT OR IGNORE``, read the holder back. SQLite's write
lock makes that atomic across threads and processes; WAL mode and a busy
timeout keep waits short. Each thread gets its own connection.

From an async server (Starlette) the calls are blocking but short (one local
transaction); call them inline or through ``anyio.to_thread`` under heavy
write contention. A database that cannot answer raises
:class:`~xaa.ReplayStoreUnavailable` (503 ``temporarily_unavailable``).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from .._replay import ReplayStoreUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xaa_replay (
    namespace TEXT NOT NULL,
    iss TEXT NOT NULL,
    jti TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, iss, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS xaa_replay_expiry ON xaa_replay (expires_at);
"""


class SqliteReplayStore:
    """Replay registry in the SQLite file ``path`` (created if missing)."""

    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._local = threading.local()
        try:
            conn = self._conn()
            conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ReplayStoreUnavailable("cannot open the replay database") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        key = (namespace, issuer, jti)
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "DELETE FROM xaa_replay"
                    " WHERE namespace=? AND iss=? AND jti=? AND expires_at<=?",
                    (*key, now),
                )
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO xaa_replay VALUES (?, ?, ?, ?, ?)",
                    (*key, holder, expires_at),
                ).rowcount
                row = conn.execute(
                    "SELECT holder FROM xaa_replay WHERE namespace=? AND iss=? AND jti=?", key
                ).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise ReplayStoreUnavailable("replay database error") from exc
        if inserted == 1:
            return None
        return str(row[0])

    def purge(self, now: float) -> int:
        """Delete expired rows; returns how many."""
        try:
            return (
                self._conn().execute("DELETE FROM xaa_replay WHERE expires_at<=?", (now,)).rowcount
            )
        except sqlite3.Error as exc:
            raise ReplayStoreUnavailable("replay database error") from exc


__all__ = ["SqliteReplayStore"]
