"""Everything the reference IdP keeps, in SQLite (stdlib ``sqlite3``); a restart keeps it all.

Tables: users, clients (each with a human owner and a status), policy, refresh
tokens (hashed), authorization requests, sessions and codes (hashed), signing
keys, single-use ids, audit log. One connection, guarded by a lock; WAL mode so
``xaa idp`` commands can change a file database while the server runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xaa import (
    DEFAULT_MIN_STAGING,
    AuditEvent,
    InvalidGrant,
    JwkSet,
    KeyRing,
    KeyState,
    ManagedKey,
    RegisteredClient,
    ReplayStore,
    SigningKey,
    spec,
)
from xaa.idp import GrantLimits, IssuancePolicy, RefreshGrant, SubjectProfile, hash_refresh_token
from xaa.stores import MemoryReplayStore, SqliteReplayStore

from .config import IdpConfig


def _seed_users(db: sqlite3.Connection, config: IdpConfig) -> None:
    """Configured users: new ones stored (password hashed), stored ones take the file's
    email, groups and attributes and keep their password hash and status; a user no
    longer in the file is ``removed`` (signs in and gets tokens no more)."""
    names = [user.username for user in config.users]
    for user in config.users:
        profile = (user.email, json.dumps(user.groups), json.dumps(user.attributes))
        if db.execute("SELECT 1 FROM users WHERE username=?", (user.username,)).fetchone():
            db.execute(
                "UPDATE users SET email=?, groups=?, attributes=?, status=CASE status"
                " WHEN 'removed' THEN 'active' ELSE status END WHERE username=?",
                (*profile, user.username),
            )
            continue
        db.execute(
            "INSERT INTO users (username, password_hash, email, groups, attributes) "
            "VALUES (?,?,?,?,?)",
            (user.username, hash_password(user.password), *profile),
        )
    marks = ",".join("?" * len(names))
    db.execute(f"UPDATE users SET status='removed' WHERE username NOT IN ({marks})", names)  # noqa: S608


def _seed_clients(db: sqlite3.Connection, config: IdpConfig) -> None:
    """Configured clients, stored or updated from the file (owner, authentication method,
    secret digest, keys, redirect URIs: a rotated secret replaces the old one) with their
    status kept; a client no longer in the file is ``removed`` (``invalid_client``)."""
    ids = [client.client_id for client in config.clients]
    for client in config.clients:
        secret = (
            hashlib.sha256(client.secret.encode("utf-8")).digest()
            if client.secret is not None
            else None
        )
        db.execute(
            "INSERT INTO clients (client_id, owner, auth_method, secret_sha256, jwks,"
            " redirect_uris) VALUES (?,?,?,?,?,?) ON CONFLICT(client_id) DO UPDATE SET"
            " owner=excluded.owner, auth_method=excluded.auth_method,"
            " secret_sha256=excluded.secret_sha256, jwks=excluded.jwks,"
            " redirect_uris=excluded.redirect_uris, status=CASE clients.status"
            " WHEN 'removed' THEN 'active' ELSE clients.status END",
            (
                client.client_id,
                client.owner,
                client.auth_method,
                secret,
                json.dumps(client.jwks) if client.jwks is not None else None,
                json.dumps(client.redirect_uris),
            ),
        )
    marks = ",".join("?" * len(ids))
    db.execute(f"UPDATE clients SET status='removed' WHERE client_id NOT IN ({marks})", ids)  # noqa: S608


def _policy_digest(config: IdpConfig) -> str:
    """What ``policy_seed`` remembers of the configuration that seeded the policy."""
    return hashlib.sha256(config.policy.model_dump_json().encode("utf-8")).hexdigest()


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, email TEXT,
  groups TEXT NOT NULL, attributes TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active');
CREATE TABLE IF NOT EXISTS clients (
  client_id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
  auth_method TEXT NOT NULL, secret_sha256 BLOB, jwks TEXT, redirect_uris TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy_seed (
  id INTEGER PRIMARY KEY CHECK (id = 1), digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, client_id TEXT NOT NULL, sub TEXT NOT NULL,
  scope TEXT NOT NULL, auth_time INTEGER, acr TEXT, amr TEXT NOT NULL,
  created_at REAL NOT NULL, expires_at REAL NOT NULL, revoked_at REAL, replaced_by TEXT);
CREATE TABLE IF NOT EXISTS auth_requests (
  id TEXT PRIMARY KEY, csrf TEXT NOT NULL, params TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY, sub TEXT NOT NULL, auth_time INTEGER NOT NULL, acr TEXT,
  amr TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
  code_hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at REAL NOT NULL,
  used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS keys (
  kid TEXT PRIMARY KEY, state TEXT NOT NULL, private_jwk TEXT NOT NULL,
  created_at REAL NOT NULL, retired_at REAL);
CREATE TABLE IF NOT EXISTS server_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, event TEXT NOT NULL,
  decision TEXT NOT NULL, reason TEXT NOT NULL, document TEXT NOT NULL);
"""

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
DEFAULT_DB = "xaa-idp.sqlite3"


def hash_password(password: str) -> str:
    """``scrypt$<salt hex>$<hash hex>`` (RFC 7914, n=2^14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against :func:`hash_password` output."""
    scheme, _, rest = stored.partition("$")
    salt_hex, _, digest_hex = rest.partition("$")
    if scheme != "scrypt" or not salt_hex or not digest_hex:
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


# Session ids and codes are stored as refresh tokens are: xaa.idp.hash_refresh_token.
token_hash = hash_refresh_token


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client as the IdP stores it."""

    client_id: str
    owner: str
    status: str
    auth_method: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser."""

    sub: str
    auth_time: int
    acr: str | None
    amr: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeGrant:
    """What a redeemed authorization code stands for (RFC 6749 §4.1.2, RFC 7636 §4.6)."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    nonce: str | None
    session: Session

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CodeGrant:
        """The record :meth:`IdpStore.new_code` stored."""
        return cls(
            client_id=data["client_id"],
            redirect_uri=data["redirect_uri"],
            code_challenge=data["code_challenge"],
            scope=data["scope"],
            nonce=data.get("nonce"),
            session=Session(data["sub"], data["auth_time"], data["acr"], tuple(data["amr"])),
        )


@dataclass(frozen=True, slots=True)
class RotatedRefresh:
    """A refresh token swapped for a new one in its family (RFC 9700 §4.14.2)."""

    token: str = field(repr=False)
    scope: str
    session: Session


def _insert_refresh(
    db: sqlite3.Connection, fields: tuple[Any, ...], amr_json: str, now: float, expires: float
) -> str:
    """Store a new refresh token (family, client, sub, scope, auth_time, acr); return it."""
    token = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO refresh_tokens (token_hash, family, client_id, sub, scope, auth_time, acr,"
        " amr, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (hash_refresh_token(token), *fields, amr_json, now, expires),
    )
    return token


class Store:
    """The IdP's SQLite database."""

    def __init__(self, path: str | Path = DEFAULT_DB) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(SCHEMA)
        self._keys_seen: tuple[Any, ...] | None = None
        self._ring: KeyRing | None = None
        self._jwks: JwkSet = JwkSet()
        # Unknown users are checked against this hash: exactly one scrypt on every path.
        self._dummy_hash = hash_password(secrets.token_urlsafe(16))
        # Single-use ids: the library's stores (a database error is 503, docs/errors.md).
        self._replay: ReplayStore = (
            MemoryReplayStore() if self.path == ":memory:" else SqliteReplayStore(self.path)
        )

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def server_secret(self, name: str) -> bytes:
        """A random 32-byte secret kept in the database, the same for every process serving
        it (``--workers``): e.g. the DPoP nonce key."""
        with self.tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO server_secrets VALUES (?, ?)",
                (name, secrets.token_bytes(32)),
            )
            row = db.execute("SELECT value FROM server_secrets WHERE name=?", (name,)).fetchone()
        return bytes(row[0])

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of one read query (the console's views: reference_idp.console_store)."""
        return self._all(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    # -- seeding ------------------------------------------------------------------------

    def seed(self, config: IdpConfig, now: float | None = None) -> None:
        """Store the configured users and clients, update stored ones from the file (a
        user's password hash and every status are kept) and mark those no longer in it
        ``removed`` (:func:`_seed_users`, :func:`_seed_clients`); the policy document is
        seeded from the configuration on the first start and whenever the file's policy
        changed since the last seed (else the stored one, edited in the console, is kept:
        docs/console.md); a fresh database gets a current and a next signing key."""
        now = time.time() if now is None else now
        with self.tx() as db:
            _seed_users(db, config)
            _seed_clients(db, config)
            document = config.policy.model_dump_json()
            digest = _policy_digest(config)
            seeded = db.execute("SELECT digest FROM policy_seed WHERE id = 1").fetchone()
            stored = db.execute("SELECT 1 FROM policy WHERE id = 1").fetchone()
            if stored is None or seeded is None or seeded[0] != digest:
                db.execute("INSERT OR REPLACE INTO policy VALUES (1, ?)", (document,))
                db.execute("INSERT OR REPLACE INTO policy_seed VALUES (1, ?)", (digest,))
            if db.execute("SELECT COUNT(*) FROM keys").fetchone()[0] == 0:
                self._write_keys(
                    db,
                    [
                        ManagedKey(SigningKey.generate(), KeyState.CURRENT, published_at=now),
                        ManagedKey(SigningKey.generate(), KeyState.NEXT, published_at=now),
                    ],
                    now,
                )

    def seeded_from_another(self, config: IdpConfig) -> bool:
        """Whether this database was seeded from a configuration whose ``[policy]`` is not
        ``config``'s (an admin command run without the server's ``--config``)."""
        row = self._one("SELECT digest FROM policy_seed WHERE id = 1")
        return row is not None and row[0] != _policy_digest(config)

    def policy(self) -> IssuancePolicy:
        """The stored issuance policy."""
        document = self.policy_document()
        return IssuancePolicy.model_validate_json(document) if document else IssuancePolicy()

    def policy_document(self) -> str:
        """The stored issuance policy as JSON text (``""`` when none)."""
        row = self._one("SELECT document FROM policy WHERE id = 1")
        return str(row[0]) if row else ""

    def set_policy(self, policy: IssuancePolicy) -> None:
        """Replace the issuance policy; the next token exchange applies it."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO policy (id, document) VALUES (1, ?)",
                (policy.model_dump_json(),),
            )

    # -- users --------------------------------------------------------------------------

    def check_login(self, username: str, password: str) -> bool:
        """True for an active user with this password: exactly one scrypt whether the
        user exists or not (a dummy hash for unknown users), so timing tells nothing."""
        row = self._one(
            "SELECT password_hash FROM users WHERE username=? AND status='active'", (username,)
        )
        stored = row[0] if row else self._dummy_hash
        return check_password(password, stored) and row is not None

    def find_subject(self, sub: str) -> SubjectProfile | None:
        """:class:`xaa.idp.SubjectDirectory`: current attributes of an active user."""
        row = self._one(
            "SELECT email, groups, attributes FROM users WHERE username=? AND status='active'",
            (sub,),
        )
        if row is None:
            return None
        return SubjectProfile(
            email=row["email"],
            groups=frozenset(json.loads(row["groups"])),
            attributes=json.loads(row["attributes"]),
        )

    # -- clients ------------------------------------------------------------------------

    def get_client(self, client_id: str) -> RegisteredClient | None:
        """:class:`xaa.ClientStore`: how ``client_id`` authenticates; suspended = inactive."""
        row = self._one("SELECT * FROM clients WHERE client_id=?", (client_id,))
        if row is None:
            return None
        active = row["status"] == "active"
        if row["auth_method"] == spec.AUTH_PRIVATE_KEY_JWT:
            return RegisteredClient.with_jwks(client_id, json.loads(row["jwks"]), active=active)
        return RegisteredClient(
            client_id, row["auth_method"], secret_sha256=row["secret_sha256"], active=active
        )

    def client_record(self, client_id: str) -> ClientRecord | None:
        """Owner, status and redirect URIs of ``client_id``."""
        row = self._one("SELECT * FROM clients WHERE client_id=?", (client_id,))
        if row is None:
            return None
        return ClientRecord(
            row["client_id"],
            row["owner"],
            row["status"],
            row["auth_method"],
            tuple(json.loads(row["redirect_uris"])),
        )

    def clients(self) -> list[ClientRecord]:
        """Every client."""
        rows = self._all("SELECT client_id FROM clients ORDER BY client_id")
        return [r for r in (self.client_record(row[0]) for row in rows) if r is not None]

    def set_client_status(self, client_id: str, status: str) -> bool:
        """Suspend or resume a client; False when unknown or removed from the file."""
        with self.tx() as db:
            cursor = db.execute(
                "UPDATE clients SET status=? WHERE client_id=? AND status != 'removed'",
                (status, client_id),
            )
            return cursor.rowcount == 1

    # -- refresh tokens (RFC 6749 §6, rotation per RFC 9700 §4.14.2) ----------------------

    def issue_refresh_token(
        self,
        *,
        client_id: str,
        sub: str,
        scope: str,
        auth_time: int | None,
        acr: str | None,
        amr: tuple[str, ...],
        lifetime: int,
        now: float,
        family: str,
    ) -> str:
        """A fresh opaque refresh token starting ``family``; only its hash is stored."""
        with self.tx() as db:
            return _insert_refresh(
                db,
                (family, client_id, sub, scope, auth_time, acr),
                json.dumps(list(amr)),
                now,
                now + lifetime,
            )

    def _refresh_row(self, token: str) -> sqlite3.Row | None:
        return self._one(
            "SELECT * FROM refresh_tokens WHERE token_hash=?", (hash_refresh_token(token),)
        )

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        """:class:`xaa.idp.RefreshTokenStore`."""
        row = self._refresh_row(token)
        if row is None:
            return None
        return RefreshGrant(
            client_id=row["client_id"],
            sub=row["sub"],
            expires_at=row["expires_at"],
            revoked=row["revoked_at"] is not None,
            rotated=row["replaced_by"] is not None,
            auth_time=row["auth_time"],
            acr=row["acr"],
            amr=tuple(json.loads(row["amr"])),
            limits=GrantLimits(),
        )

    def rotate_refresh_token(
        self,
        token: str,
        client_id: str,
        lifetime: int,
        now: float,
        *,
        scope: frozenset[str] | None = None,
    ) -> RotatedRefresh:
        """Swap ``token`` (already checked by :func:`xaa.idp.validate_refresh_token`) for a
        new one in its family, atomically; raises :class:`~xaa.InvalidGrant` when refused.
        A token rotated meanwhile by a concurrent request is reuse: its family is revoked.
        ``scope``, when given, must be within the token's."""
        refused = ""
        with self.tx() as db:
            row = db.execute(
                "SELECT * FROM refresh_tokens WHERE token_hash=? AND client_id=?",
                (hash_refresh_token(token), client_id),
            ).fetchone()
            if row is None:
                refused = "unknown refresh token"
            elif row["revoked_at"] is not None:
                db.execute(
                    "UPDATE refresh_tokens SET revoked_at=? WHERE family=? AND revoked_at IS NULL",
                    (now, row["family"]),
                )
                refused = "refresh token rotated concurrently: family revoked"
            elif scope is not None and not scope <= set(row["scope"].split()):
                refused = "scope beyond the refresh token"
            else:
                fields = (row["family"], client_id, row["sub"], row["scope"], row["auth_time"])
                new = _insert_refresh(db, (*fields, row["acr"]), row["amr"], now, now + lifetime)
                db.execute(
                    "UPDATE refresh_tokens SET revoked_at=?, replaced_by=? WHERE token_hash=?",
                    (now, hash_refresh_token(new), row["token_hash"]),
                )
        if refused:  # raised after the transaction committed what a refusal revokes
            raise InvalidGrant(detail=refused)
        amr = tuple(json.loads(row["amr"]))
        session = Session(row["sub"], row["auth_time"], row["acr"], amr)
        return RotatedRefresh(new, row["scope"], session)

    def revoke_refresh_family(self, token: str, now: float) -> None:
        """:class:`xaa.idp.RefreshTokenStore`: reuse detected, revoke ``token``'s family."""
        row = self._refresh_row(token)
        if row is not None:
            self.revoke_family(row["family"], now)

    def revoke_refresh_token(self, token: str, client_id: str, now: float) -> bool:
        """RFC 7009 §2.1: revoke ``token`` (and its family) when it belongs to ``client_id``."""
        row = self._refresh_row(token)
        if row is None or row["client_id"] != client_id:
            return False
        self.revoke_family(row["family"], now)
        return True

    def revoke_family(self, family: str, now: float) -> None:
        """Revoke every token of one rotation family."""
        with self.tx() as db:
            db.execute(
                "UPDATE refresh_tokens SET revoked_at=? WHERE family=? AND revoked_at IS NULL",
                (now, family),
            )

    # -- authorization requests, sessions, codes ------------------------------------------

    def save_auth_request(
        self, params: dict[str, Any], now: float, ttl: int = 600
    ) -> tuple[str, str]:
        """Park an authorization request behind the login form; returns ``(id, csrf)``."""
        request_id, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        with self.tx() as db:
            db.execute("DELETE FROM auth_requests WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO auth_requests (id, csrf, params, expires_at) VALUES (?,?,?,?)",
                (request_id, csrf, json.dumps(params), now + ttl),
            )
        return request_id, csrf

    def auth_request(self, request_id: str, now: float) -> tuple[str, dict[str, Any]] | None:
        """``(csrf, params)`` of a parked request that has not expired."""
        row = self._one(
            "SELECT csrf, params FROM auth_requests WHERE id=? AND expires_at > ?",
            (request_id, now),
        )
        return (row["csrf"], json.loads(row["params"])) if row else None

    def drop_auth_request(self, request_id: str) -> None:
        """Forget a parked request (it is used once)."""
        with self.tx() as db:
            db.execute("DELETE FROM auth_requests WHERE id=?", (request_id,))

    def new_session(self, session: Session, now: float, ttl: int = 8 * 3600) -> str:
        """A session id for the browser cookie; only its hash is stored."""
        session_id = secrets.token_urlsafe(32)
        with self.tx() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO sessions (id_hash, sub, auth_time, acr, amr, expires_at) "
                "VALUES (?,?,?,?,?,?)",
                (
                    token_hash(session_id),
                    session.sub,
                    session.auth_time,
                    session.acr,
                    json.dumps(list(session.amr)),
                    now + ttl,
                ),
            )
        return session_id

    def session(self, session_id: str, now: float) -> Session | None:
        """The live session behind a cookie value."""
        row = self._one(
            "SELECT * FROM sessions WHERE id_hash=? AND expires_at > ?",
            (token_hash(session_id), now),
        )
        if row is None:
            return None
        return Session(row["sub"], row["auth_time"], row["acr"], tuple(json.loads(row["amr"])))

    def new_code(self, data: dict[str, Any], now: float, ttl: int = 60) -> str:
        """A single-use authorization code (RFC 6749 §4.1.2); only its hash is stored."""
        code = secrets.token_urlsafe(32)
        with self.tx() as db:
            db.execute("DELETE FROM codes WHERE expires_at < ?", (now - 3600,))
            db.execute(
                "INSERT INTO codes (code_hash, data, expires_at) VALUES (?,?,?)",
                (token_hash(code), json.dumps(data), now + ttl),
            )
        return code

    def use_code(self, code: str, now: float) -> CodeGrant:
        """The code's grant, marking it used; raises :class:`~xaa.InvalidGrant` when refused.
        A reused code revokes the refresh tokens issued for it (RFC 6749 §4.1.2): their
        family is the code's hash."""
        refused = ""
        with self.tx() as db:
            row = db.execute(
                "SELECT data, expires_at, used FROM codes WHERE code_hash=?", (token_hash(code),)
            ).fetchone()
            if row is None:
                refused = "unknown code"
            elif row["used"]:
                db.execute(
                    "UPDATE refresh_tokens SET revoked_at=? WHERE family=? AND revoked_at IS NULL",
                    (now, token_hash(code)),
                )
                refused = "code reused: its tokens are revoked"
            else:
                db.execute("UPDATE codes SET used=1 WHERE code_hash=?", (token_hash(code),))
        if not refused and now >= row["expires_at"]:
            refused = "code expired"
        if refused:  # raised after the transaction committed what a refusal revokes
            raise InvalidGrant(detail=refused)
        return CodeGrant.from_data(json.loads(row["data"]))

    # -- single-use ids (xaa.ReplayStore) -----------------------------------------------

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        """:class:`xaa.ReplayStore`, durable across restarts (:class:`SqliteReplayStore`)."""
        return self._replay.claim(
            namespace, issuer, jti, holder=holder, expires_at=expires_at, now=now
        )

    # -- signing keys (xaa.idp.KeySource) -------------------------------------------------

    def _write_keys(self, db: sqlite3.Connection, keys: list[ManagedKey], now: float) -> None:
        """Replace the stored keys (in ring order); ``created_at`` is when each was published."""
        db.execute("DELETE FROM keys")
        for managed in keys:
            db.execute(
                "INSERT INTO keys (kid, state, private_jwk, created_at, retired_at) "
                "VALUES (?,?,?,?,?)",
                (
                    managed.key.kid,
                    managed.state.value,
                    json.dumps(managed.key.private_jwk()),
                    now if managed.published_at is None else managed.published_at,
                    managed.retired_at,
                ),
            )

    def _load_ring(self, db: sqlite3.Connection, min_staging: float) -> KeyRing:
        rows = db.execute("SELECT * FROM keys ORDER BY created_at, rowid").fetchall()
        return KeyRing(
            (
                ManagedKey(
                    SigningKey.from_jwk(json.loads(row["private_jwk"])),
                    KeyState(row["state"]),
                    row["retired_at"],
                    row["created_at"],
                )
                for row in rows
            ),
            min_staging=min_staging,
        )

    def _key_ring(self) -> KeyRing:
        with self._lock:
            seen = tuple(tuple(r) for r in self._all("SELECT kid, state FROM keys ORDER BY kid"))
            if self._ring is None or seen != self._keys_seen:
                self._ring = self._load_ring(self._db, DEFAULT_MIN_STAGING)
                self._jwks = self._ring.verification_keys()
                self._keys_seen = seen
            return self._ring

    @property
    def current(self) -> SigningKey:
        """The key that signs now."""
        return self._key_ring().current

    def verification_keys(self) -> JwkSet:
        """Every published key: next, current and retired."""
        self._key_ring()
        return self._jwks

    def rotate_keys(
        self,
        max_signed_lifetime: float,
        now: float | None = None,
        min_staging: float = DEFAULT_MIN_STAGING,
    ) -> SigningKey:
        """The staged key signs from now on, the old one retires (still published until
        what it signed expired), and a fresh key is staged (published before it signs).

        Raises :class:`xaa.RotationRefused` (nothing changes) when the staged key has
        been published for less than ``min_staging`` seconds.
        """
        now = time.time() if now is None else now
        with self.tx() as db:
            ring = self._load_ring(db, min_staging)
            current = ring.rotate(now)
            ring.prune(now, max_signed_lifetime)
            ring.stage(SigningKey.generate(current.alg), now)
            self._write_keys(db, ring.keys, now)
        return current

    def stage_key(self, now: float | None = None) -> SigningKey:
        """Publish a fresh next key now (replacing a staged one); it signs after a rotation."""
        now = time.time() if now is None else now
        with self.tx() as db:
            ring = self._load_ring(db, DEFAULT_MIN_STAGING)
            key = SigningKey.generate(ring.current.alg)
            ring.stage(key, now)
            self._write_keys(db, ring.keys, now)
        return key

    def key_rotatable_at(self, min_staging: float = DEFAULT_MIN_STAGING) -> float | None:
        """When the staged key may sign (``None``: nothing staged)."""
        with self._lock:
            return self._load_ring(self._db, min_staging).rotatable_at()

    def key_states(self) -> list[tuple[str, str]]:
        """``(kid, state)`` of every stored key."""
        rows = self._all("SELECT kid, state FROM keys ORDER BY created_at, rowid")
        return [(r[0], r[1]) for r in rows]

    # -- audit (xaa.AuditSink) ----------------------------------------------------------

    def emit(self, event: AuditEvent) -> None:
        """Append ``event`` to the audit log (it never holds a token)."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO audit (time, event, decision, reason, document) VALUES (?,?,?,?,?)",
                (event.time, event.event, event.decision, event.reason, event.model_dump_json()),
            )

    def audit_events(self, limit: int | None = None) -> list[AuditEvent]:
        """The audit log, oldest first (the last ``limit`` events when given)."""
        rows = self._all(
            "SELECT document FROM (SELECT id, document FROM audit ORDER BY id DESC LIMIT ?) "
            "ORDER BY id",
            (-1 if limit is None else limit,),
        )
        return [AuditEvent.model_validate_json(row[0]) for row in rows]
