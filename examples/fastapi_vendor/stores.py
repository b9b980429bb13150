"""The vendor's own stores, behind xaa's Protocols: clients (``xaa.ClientStore``),
accounts (``xaa.resource.AccountStore``), the audit log (``xaa.AuditSink``) and the grant
policy over the clients (``xaa.resource.GrantPolicy``).

All in one SQLite file, so a restart keeps them. Client secrets are kept only as
SHA-256 digests; the audit log is one JSON object per line and never holds a token.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from pathlib import Path

from xaa import AuditEvent, RegisteredClient, spec
from xaa.resource import Account

log = logging.getLogger("notes.audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
  client_id TEXT PRIMARY KEY, secret_sha256 BLOB NOT NULL, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, email TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS links (
  issuer TEXT NOT NULL, tenant TEXT NOT NULL, subject TEXT NOT NULL, account TEXT NOT NULL,
  PRIMARY KEY (issuer, tenant, subject));
"""


class VendorDb:
    """Clients and accounts in SQLite."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # -- clients (xaa.ClientStore) --------------------------------------------------------

    def add_client(self, client_id: str, secret: str | None = None) -> str:
        """Register ``client_id`` (``client_secret_basic``); returns its secret. For a
        client already registered: a new secret, and a suspended client stays suspended."""
        secret = secret or secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode("utf-8")).digest()
        self._rows(
            "INSERT INTO clients (client_id, secret_sha256) VALUES (?, ?) ON CONFLICT"
            " (client_id) DO UPDATE SET secret_sha256 = excluded.secret_sha256",
            (client_id, digest),
        )
        return secret

    def set_active(self, client_id: str, active: bool) -> None:
        """The kill switch: an inactive client gets ``invalid_client`` at once."""
        self._rows("UPDATE clients SET active = ? WHERE client_id = ?", (int(active), client_id))

    def get_client(self, client_id: str) -> RegisteredClient | None:
        """``xaa.ClientStore``: how ``client_id`` authenticates."""
        rows = self._rows(
            "SELECT secret_sha256, active FROM clients WHERE client_id = ?", (client_id,)
        )
        if not rows:
            return None
        digest, active = rows[0]
        assert isinstance(digest, bytes)
        return RegisteredClient(
            client_id,
            spec.AUTH_CLIENT_SECRET_BASIC,
            secret_sha256=digest,
            active=bool(active),
        )

    # -- accounts (xaa.resource.AccountStore) -----------------------------------------------

    def linked(self, issuer: str, tenant: str | None, subject: str) -> Account | None:
        rows = self._rows(
            "SELECT account FROM links WHERE issuer = ? AND tenant = ? AND subject = ?",
            (issuer, tenant or "", subject),
        )
        return self.by_id(str(rows[0][0])) if rows else None

    def by_id(self, account_id: str) -> Account | None:
        rows = self._rows("SELECT id, email FROM accounts WHERE id = ?", (account_id,))
        return Account(str(rows[0][0]), _text(rows[0][1])) if rows else None

    def by_email(self, email: str) -> Account | None:
        rows = self._rows("SELECT id, email FROM accounts WHERE lower(email) = lower(?)", (email,))
        return Account(str(rows[0][0]), _text(rows[0][1])) if rows else None

    def create(self, email: str) -> Account:
        account = Account(f"acct-{secrets.token_hex(8)}", email)
        self._rows("INSERT INTO accounts (id, email) VALUES (?, ?)", (account.id, email))
        return account

    def link(self, issuer: str, tenant: str | None, subject: str, account: Account) -> None:
        self._rows(
            "INSERT OR REPLACE INTO links (issuer, tenant, subject, account) VALUES (?,?,?,?)",
            (issuer, tenant or "", subject, account.id),
        )

    def linked_issuers(self, account_id: str) -> frozenset[tuple[str, str | None]]:
        """The ``(issuer, tenant)`` pairs linked to the account: e-mail links stay per issuer."""
        rows = self._rows(
            "SELECT DISTINCT issuer, tenant FROM links WHERE account=?", (account_id,)
        )
        return frozenset((str(issuer), str(tenant) or None) for issuer, tenant in rows)


class EveryRegisteredClient:
    """``xaa.resource.GrantPolicy``: jwt-bearer for every client in ``db`` (whether it is
    suspended is checked at authentication), any notes scope the ID-JAG carries."""

    def __init__(self, db: VendorDb) -> None:
        self._db = db

    def grant_enabled(self, client_id: str, grant_type: str) -> bool:
        return grant_type == spec.GRANT_JWT_BEARER and self._db.get_client(client_id) is not None

    def allowed_scopes(self, client_id: str, account: Account) -> frozenset[str] | None:
        del client_id, account
        return None

    def allowed_detail_types(self, client_id: str) -> frozenset[str]:
        del client_id
        return frozenset()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class JsonLinesAudit:
    """``xaa.AuditSink``: one JSON object per line in ``path`` (never raises)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def emit(self, event: AuditEvent) -> None:
        line = event.model_dump_json() + "\n"
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        except OSError as exc:  # an audit sink must not raise; the decision stands
            log.error("audit log %s not written: %s", self.path, exc.strerror)

    def events(self) -> list[AuditEvent]:
        """Every recorded event, oldest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text("utf-8").splitlines()
        return [AuditEvent.model_validate_json(line) for line in lines if line]
