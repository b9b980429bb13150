"""SQLite state of the chat app: keys, accounts and their IdP links, channels, messages,
and the code-flow state (pending logins, codes, refresh tokens, revoked access tokens).

One connection guarded by a lock; every call is one short local transaction,
made inline from the async handlers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from xaa import Actor, AuditEvent, SigningKey
from xaa.actors import describe_delegation
from xaa.resource import Account

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signing_keys (kid TEXT PRIMARY KEY, jwk TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS server_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, email TEXT UNIQUE COLLATE NOCASE, username TEXT UNIQUE,
    password_hash TEXT);
CREATE TABLE IF NOT EXISTS links (
    iss TEXT NOT NULL, tenant TEXT NOT NULL, sub TEXT NOT NULL, account_id TEXT NOT NULL,
    PRIMARY KEY (iss, tenant, sub));
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id TEXT NOT NULL, text TEXT NOT NULL,
    account_id TEXT NOT NULL, email TEXT, client_id TEXT NOT NULL, idp_iss TEXT,
    act TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY, params TEXT NOT NULL, account_id TEXT, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, account_id TEXT NOT NULL,
    scope TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_access (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, event TEXT NOT NULL,
    decision TEXT NOT NULL, document TEXT NOT NULL);
"""
_MESSAGE_COLUMNS = (
    "SELECT m.id, m.text, m.account_id, m.email, m.client_id, m.idp_iss, m.act, m.created_at,"
    " a.username FROM messages m LEFT JOIN accounts a ON a.id = m.account_id"
)
_NO_TENANT = ""


def digest(value: str) -> str:
    """SHA-256 hex of a secret value (codes and refresh tokens are stored hashed)."""
    return hashlib.sha256(value.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    """PBKDF2-SHA256 ``salt$hash``."""
    salt = salt or secrets.token_bytes(16)
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return f"{salt.hex()}${derived.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    """Constant-time check of ``password`` against :func:`hash_password` output."""
    if not stored or "$" not in stored:
        return False
    salt_hex, _ = stored.split("$", 1)
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt_hex)), stored)


class ChatStore:
    """All persistent state; also the :class:`~xaa.resource.AccountStore` of the app."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(_SCHEMA)
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))

    def _run(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- setup ------------------------------------------------------------------------------

    def signing_key(self) -> SigningKey:
        """The AS's signing key, created on first start and kept across restarts; processes
        starting together on one database all get the first key written."""
        first = "SELECT jwk FROM signing_keys ORDER BY rowid LIMIT 1"
        with self._lock:
            rows = self._run(first)
            if not rows:
                key = SigningKey.generate("ES256", kid=f"chat-{secrets.token_hex(4)}")
                self._run(
                    "INSERT OR IGNORE INTO signing_keys VALUES (?, ?)",
                    (key.kid, json.dumps(key.private_jwk())),
                )
                rows = self._run(first)
            return SigningKey.from_jwk(json.loads(rows[0][0]))

    def server_secret(self, name: str) -> bytes:
        """A random 32-byte secret kept in the database, the same for every process serving
        it (``--workers``): e.g. the DPoP nonce key."""
        with self._lock:
            self._run(
                "INSERT OR IGNORE INTO server_secrets VALUES (?, ?)",
                (name, secrets.token_bytes(32)),
            )
            value = self._run("SELECT value FROM server_secrets WHERE name=?", (name,))[0][0]
            return bytes(value)

    def seed(
        self, users: Iterable[tuple[str, str, str]], channels: Iterable[tuple[str, str]]
    ) -> None:
        """Create demo users and channels that do not exist yet."""
        with self._lock:
            for username, email, password in users:
                if not self._run("SELECT 1 FROM accounts WHERE username=?", (username,)):
                    existing = self.by_email(email)
                    if existing is not None:
                        self._run(
                            "UPDATE accounts SET username=?, password_hash=? WHERE id=?",
                            (username, hash_password(password), existing.id),
                        )
                    else:
                        self._run(
                            "INSERT INTO accounts VALUES (?, ?, ?, ?)",
                            (f"u-{username}", email, username, hash_password(password)),
                        )
            for channel_id, name in channels:
                self._run("INSERT OR IGNORE INTO channels VALUES (?, ?)", (channel_id, name))

    # -- AccountStore -----------------------------------------------------------------------

    def linked(self, issuer: str, tenant: str | None, subject: str) -> Account | None:
        rows = self._run(
            "SELECT a.id, a.email FROM links l JOIN accounts a ON a.id = l.account_id"
            " WHERE l.iss=? AND l.tenant=? AND l.sub=?",
            (issuer, tenant or _NO_TENANT, subject),
        )
        return Account(rows[0][0], rows[0][1]) if rows else None

    def by_id(self, account_id: str) -> Account | None:
        rows = self._run("SELECT id, email FROM accounts WHERE id=?", (account_id,))
        return Account(rows[0][0], rows[0][1]) if rows else None

    def by_email(self, email: str) -> Account | None:
        rows = self._run("SELECT id, email FROM accounts WHERE email=?", (email,))
        return Account(rows[0][0], rows[0][1]) if rows else None

    def create(self, email: str) -> Account:
        account = Account(f"u-{secrets.token_hex(6)}", email)
        self._run("INSERT INTO accounts (id, email) VALUES (?, ?)", (account.id, email))
        return account

    def link(self, issuer: str, tenant: str | None, subject: str, account: Account) -> None:
        self._run(
            "INSERT OR REPLACE INTO links VALUES (?, ?, ?, ?)",
            (issuer, tenant or _NO_TENANT, subject, account.id),
        )

    def linked_issuers(self, account_id: str) -> frozenset[tuple[str, str | None]]:
        rows = self._run("SELECT DISTINCT iss, tenant FROM links WHERE account_id=?", (account_id,))
        return frozenset((iss, tenant or None) for iss, tenant in rows)

    def login(self, username: str, password: str) -> Account | None:
        """The account whose password this is (code flow login page); the same work
        whether the username exists or not."""
        rows = self._run(
            "SELECT id, email, password_hash FROM accounts WHERE username=?", (username,)
        )
        # Exactly one PBKDF2 on every path: a dummy hash for unknown users (no timing oracle).
        stored = rows[0][2] if rows and rows[0][2] else self._dummy_hash
        if check_password(password, stored) and rows:
            return Account(rows[0][0], rows[0][1])
        return None

    # -- chat -------------------------------------------------------------------------------

    def channels(self) -> list[dict[str, str]]:
        """Every channel."""
        return [{"id": r[0], "name": r[1]} for r in self._run("SELECT id, name FROM channels")]

    def channel_exists(self, channel_id: str) -> bool:
        """Whether the channel exists."""
        return bool(self._run("SELECT 1 FROM channels WHERE id=?", (channel_id,)))

    def messages(self, channel_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The latest messages of a channel, oldest first."""
        rows = self._run(
            f"{_MESSAGE_COLUMNS} WHERE m.channel_id=? ORDER BY m.id DESC LIMIT ?",
            (channel_id, limit),
        )
        return [_message(r) for r in reversed(rows)]

    def post(
        self,
        channel_id: str,
        text: str,
        *,
        account_id: str,
        client_id: str,
        idp_iss: str | None,
        act: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Store a message with who posted it, through which client, for which actor."""
        email_rows = self._run("SELECT email FROM accounts WHERE id=?", (account_id,))
        email = email_rows[0][0] if email_rows else None
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO messages (channel_id, text, account_id, email, client_id, idp_iss,"
                " act, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    channel_id,
                    text,
                    account_id,
                    email,
                    client_id,
                    idp_iss,
                    json.dumps(act) if act else None,
                    time.time(),
                ),
            )
            row_id = cursor.lastrowid
        rows = self._run(f"{_MESSAGE_COLUMNS} WHERE m.id=?", (row_id,))
        return _message(rows[0])

    # -- code flow state --------------------------------------------------------------------

    def put_pending(self, params: dict[str, str], ttl: float = 600) -> str:
        """Remember an authorization request between the login and consent pages."""
        pending_id = secrets.token_urlsafe(24)
        self._run(
            "INSERT INTO pending VALUES (?, ?, NULL, ?)",
            (pending_id, json.dumps(params), time.time() + ttl),
        )
        return pending_id

    def get_pending(self, pending_id: str) -> tuple[dict[str, str], str | None] | None:
        """The request and (after login) its account."""
        rows = self._run(
            "SELECT params, account_id FROM pending WHERE id=? AND expires_at>?",
            (pending_id, time.time()),
        )
        return (json.loads(rows[0][0]), rows[0][1]) if rows else None

    def set_pending_account(self, pending_id: str, account_id: str) -> None:
        """Record who logged in for this pending request."""
        self._run("UPDATE pending SET account_id=? WHERE id=?", (account_id, pending_id))

    def drop_pending(self, pending_id: str) -> None:
        """Forget a pending request (used once)."""
        self._run("DELETE FROM pending WHERE id=?", (pending_id,))

    def put_code(self, data: dict[str, Any], ttl: float = 60) -> str:
        """A fresh single-use authorization code."""
        code = secrets.token_urlsafe(32)
        self._run(
            "INSERT INTO codes VALUES (?, ?, ?)",
            (digest(code), json.dumps(data), time.time() + ttl),
        )
        return code

    def take_code(self, code: str) -> dict[str, Any] | None:
        """Consume a code: returns its data once, while unexpired."""
        with self._lock:
            rows = self._run(
                "SELECT data, expires_at FROM codes WHERE code_hash=?", (digest(code),)
            )
            self._run("DELETE FROM codes WHERE code_hash=?", (digest(code),))
        if not rows or rows[0][1] <= time.time():
            return None
        data: dict[str, Any] = json.loads(rows[0][0])
        return data

    def put_refresh(self, client_id: str, account_id: str, scope: str, ttl: float) -> str:
        """A fresh refresh token."""
        token = secrets.token_urlsafe(32)
        self._run(
            "INSERT INTO refresh_tokens VALUES (?, ?, ?, ?, ?)",
            (digest(token), client_id, account_id, scope, time.time() + ttl),
        )
        return token

    def take_refresh(self, token: str, client_id: str) -> tuple[str, str] | None:
        """Consume (rotate) a refresh token of ``client_id``: ``(account_id, scope)``."""
        with self._lock:
            rows = self._run(
                "SELECT client_id, account_id, scope, expires_at FROM refresh_tokens"
                " WHERE token_hash=?",
                (digest(token),),
            )
            if not rows or rows[0][0] != client_id:
                return None
            self._run("DELETE FROM refresh_tokens WHERE token_hash=?", (digest(token),))
        if rows[0][3] <= time.time():
            return None
        return rows[0][1], rows[0][2]

    def revoke_refresh(self, token: str, client_id: str) -> None:
        """RFC 7009: delete the refresh token if it belongs to ``client_id``."""
        self._run(
            "DELETE FROM refresh_tokens WHERE token_hash=? AND client_id=?",
            (digest(token), client_id),
        )

    def revoke_access(self, jti: str, expires_at: float) -> None:
        """RFC 7009: remember a revoked access token until it expires."""
        self._run("INSERT OR IGNORE INTO revoked_access VALUES (?, ?)", (jti, expires_at))

    def access_revoked(self, jti: str) -> bool:
        """Whether an access token was revoked."""
        return bool(self._run("SELECT 1 FROM revoked_access WHERE jti=?", (jti,)))

    # -- audit log of the AS and the API (xaa.AuditSink) -------------------------------------

    def emit(self, event: AuditEvent) -> None:
        """Append ``event`` (it never holds a token)."""
        self._run(
            "INSERT INTO audit (time, event, decision, document) VALUES (?, ?, ?, ?)",
            (event.time, event.event, event.decision, event.model_dump_json()),
        )

    def audit_events(self) -> list[AuditEvent]:
        """The audit log, oldest first."""
        rows = self._run("SELECT document FROM audit ORDER BY id")
        return [AuditEvent.model_validate_json(row[0]) for row in rows]

    def account_events(self, account_id: str, limit: int = 200) -> list[AuditEvent]:
        """The account's redemptions and API actions, newest first (its activity page)."""
        rows = self._run(
            "SELECT document FROM audit WHERE (event = 'jwt_bearer' AND"
            " json_extract(document, '$.extra.account') = ?) OR (event <> 'jwt_bearer' AND"
            " json_extract(document, '$.subject') = ?) ORDER BY id DESC LIMIT ?",
            (account_id, account_id, limit),
        )
        return [AuditEvent.model_validate_json(r[0]) for r in rows]

    def account_name(self, account_id: str) -> str:
        """The account's username, else its email, else its id."""
        rows = self._run("SELECT username, email FROM accounts WHERE id = ?", (account_id,))
        return (rows[0][0] or rows[0][1] or account_id) if rows else account_id


def _message(row: tuple[Any, ...]) -> dict[str, Any]:
    act = Actor.model_validate_json(row[6]) if row[6] else None
    author = row[3] or row[2]
    return {
        "id": row[0],
        "text": row[1],
        "account": row[2],
        "author": author,
        "client_id": row[4],
        "idp": row[5],
        "act": act.model_dump(exclude_none=True) if act else None,
        "actors": act.chain() if act else [],
        # ``alice via <earliest actor> via <current actor>`` (docs/actors.md)
        "attribution": describe_delegation(row[8] or author, act),
        "created_at": row[7],
    }
