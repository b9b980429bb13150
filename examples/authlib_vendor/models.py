"""What the vendor had before XAA: authlib clients, users and opaque bearer tokens in SQLite.

``Client`` implements authlib's ``ClientMixin``, ``Token`` its ``TokenMixin``; secrets
are kept as SHA-256 digests. Nothing here knows about ID-JAGs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
  client_id TEXT PRIMARY KEY, secret_sha256 BLOB NOT NULL, grant_types TEXT NOT NULL,
  scope TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT, issuer TEXT NOT NULL, tenant TEXT NOT NULL,
  subject TEXT NOT NULL, email TEXT, UNIQUE (issuer, tenant, subject));
CREATE TABLE IF NOT EXISTS tokens (
  access_token TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id INTEGER, scope TEXT,
  issued_at REAL NOT NULL, expires_in INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Client:
    """authlib's ``ClientMixin`` for a confidential client."""

    client_id: str
    secret_sha256: bytes
    grant_types: tuple[str, ...]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        del redirect_uri
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        digest = hashlib.sha256(client_secret.encode("utf-8")).digest()
        return hmac.compare_digest(digest, self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        del response_type
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Token:
    """authlib's ``TokenMixin`` for a stored bearer token."""

    access_token: str
    client_id: str
    user_id: int | None
    scope: str
    issued_at: float
    expires_in: int

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False


class VendorDb:
    """Clients, users and tokens (one SQLite file)."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def add_client(
        self, client_id: str, secret: str | None = None, *, grant_types: tuple[str, ...],
        scope: str,
    ) -> str:  # fmt: skip
        """Register a client; returns its secret (shown once)."""
        secret = secret or secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode("utf-8")).digest()
        self._rows(
            "INSERT OR REPLACE INTO clients VALUES (?, ?, ?, ?)",
            (client_id, digest, " ".join(grant_types), scope),
        )
        return secret

    def query_client(self, client_id: str) -> Client | None:
        rows = self._rows("SELECT * FROM clients WHERE client_id = ?", (client_id,))
        if not rows:
            return None
        cid, digest, grants, scope = rows[0]
        return Client(cid, digest, tuple(grants.split()), scope)

    def user_for(self, issuer: str, tenant: str | None, subject: str, email: str | None) -> int:
        """The user linked to ``(issuer, tenant, subject)``, created on first sight."""
        self._rows(
            "INSERT OR IGNORE INTO users (issuer, tenant, subject, email) VALUES (?, ?, ?, ?)",
            (issuer, tenant or "", subject, email),
        )
        rows = self._rows(
            "SELECT id FROM users WHERE issuer = ? AND tenant = ? AND subject = ?",
            (issuer, tenant or "", subject),
        )
        return int(rows[0][0])

    def save_token(self, token: dict[str, Any], client_id: str, user_id: int | None) -> None:
        self._rows(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
            (token["access_token"], client_id, user_id, token.get("scope", ""), time.time(),
             int(token["expires_in"])),
        )  # fmt: skip

    def token(self, access_token: str) -> Token | None:
        rows = self._rows("SELECT * FROM tokens WHERE access_token = ?", (access_token,))
        return Token(*rows[0]) if rows else None
