"""State a broker shares across workers and hosts: SQLite by default, Redis when configured.

- :class:`SqliteKeyValue` / :class:`RedisKeyValue`: a small expiring key-value
  store with an atomic ``take`` (read and delete once), by namespace.
- :class:`SealedPendingAuthorizations`: :class:`xaa.broker.PendingStore` over
  either; each request (its PKCE verifier included) sealed with AES-256-GCM
  under the vault's :class:`~xaa.adapters.broker.Keyring`, keyed by the SHA-256
  of its ``state``: the callback may land on any worker (RFC 6749 §4.1.2).
- :class:`VaultSessions`: :class:`xaa.broker.SessionSource` reading each
  person's IdP sign-in (ID token, refresh token) from the vault.
- :class:`RedisAttributionLog` / :class:`RedisRevocationList`: the Redis twins
  of :mod:`xaa.adapters._broker_sqlite`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import InvalidRequest
from ..broker._attribution import MintRecord
from ..broker._errors import VaultIntegrityError
from ..broker._killswitch import RevocationTarget, TargetKind
from ..broker._oauth import PendingAuthorization
from ..broker._vault import SecretKind, Slot, Vault, VaultEntry
from ..client import IdentitySession
from ._broker_sqlite import ThreadLocalSqlite
from ._vault import Keyring

IDP_APP = "@idp"  # the vault slot app name of a person's IdP sign-in
NONCE_BYTES = 12
_SEAL_LABEL = "xaa-broker-shared/1"

_KV_SCHEMA = """
CREATE TABLE IF NOT EXISTS xaa_broker_kv (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at REAL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""


class KeyValue(Protocol):
    """Expiring values by (namespace, key); ``take`` reads and deletes atomically."""

    def put(self, namespace: str, key: str, value: bytes, expires_at: float | None) -> None:
        """Store ``value`` until ``expires_at`` (``None``: until deleted)."""
        ...

    def get(self, namespace: str, key: str, now: float) -> bytes | None:
        """The live value, else ``None``."""
        ...

    def take(self, namespace: str, key: str, now: float) -> bytes | None:
        """The live value, removed (exactly one caller gets it), else ``None``."""
        ...

    def delete(self, namespace: str, key: str) -> bool:
        """Remove; True when it existed."""
        ...

    def items(self, namespace: str, now: float) -> list[tuple[str, bytes]]:
        """Every live (key, value) of ``namespace``."""
        ...


class SqliteKeyValue(ThreadLocalSqlite):
    """:class:`KeyValue` in a SQLite file (shared by the processes of one host)."""

    SCHEMA = _KV_SCHEMA

    def put(self, namespace: str, key: str, value: bytes, expires_at: float | None) -> None:
        conn = self._conn()
        conn.execute(  # expired rows go on every write: the table never grows without bound
            "DELETE FROM xaa_broker_kv WHERE namespace = ? AND expires_at <= ?",
            (namespace, time.time()),
        )
        conn.execute(
            "INSERT OR REPLACE INTO xaa_broker_kv VALUES (?, ?, ?, ?)",
            (namespace, key, value, expires_at),
        )

    def get(self, namespace: str, key: str, now: float) -> bytes | None:
        row = (
            self._conn()
            .execute(
                "SELECT value FROM xaa_broker_kv WHERE namespace = ? AND key = ?"
                " AND (expires_at IS NULL OR expires_at > ?)",
                (namespace, key, now),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def take(self, namespace: str, key: str, now: float) -> bytes | None:
        row = (
            self._conn()
            .execute(
                "DELETE FROM xaa_broker_kv WHERE namespace = ? AND key = ? RETURNING value,"
                " expires_at",
                (namespace, key),
            )
            .fetchone()
        )
        if row is None or (row[1] is not None and row[1] <= now):
            return None
        return bytes(row[0])

    def delete(self, namespace: str, key: str) -> bool:
        cursor = self._conn().execute(
            "DELETE FROM xaa_broker_kv WHERE namespace = ? AND key = ?", (namespace, key)
        )
        return cursor.rowcount > 0

    def items(self, namespace: str, now: float) -> list[tuple[str, bytes]]:
        conn = self._conn()
        conn.execute(
            "DELETE FROM xaa_broker_kv WHERE namespace = ? AND expires_at <= ?", (namespace, now)
        )
        rows = conn.execute(
            "SELECT key, value FROM xaa_broker_kv WHERE namespace = ? ORDER BY key", (namespace,)
        )
        return [(str(k), bytes(v)) for k, v in rows]


class RedisKeyValue:
    """:class:`KeyValue` in Redis (shared by hosts); expiry is Redis's own (``PEXPIREAT``)."""

    def __init__(self, client: Any, prefix: str = "xaa:broker:kv:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}{namespace}:{key}"

    def put(self, namespace: str, key: str, value: bytes, expires_at: float | None) -> None:
        name = self._key(namespace, key)
        if expires_at is None:
            self.client.set(name, value)
        else:
            self.client.set(name, value, pxat=max(1, int(expires_at * 1000)))

    def get(self, namespace: str, key: str, now: float) -> bytes | None:
        return cast(bytes | None, self.client.get(self._key(namespace, key)))

    def take(self, namespace: str, key: str, now: float) -> bytes | None:
        return cast(bytes | None, self.client.getdel(self._key(namespace, key)))

    def delete(self, namespace: str, key: str) -> bool:
        return bool(self.client.delete(self._key(namespace, key)))

    def items(self, namespace: str, now: float) -> list[tuple[str, bytes]]:
        head = self._key(namespace, "")
        out: list[tuple[str, bytes]] = []
        for name in self.client.scan_iter(match=head + "*"):
            text = name.decode() if isinstance(name, bytes) else str(name)
            value = self.client.get(name)
            if value is not None:
                out.append((text[len(head) :], value))
        return sorted(out)


def kv_for(db: str | Path, redis_url: str | None) -> KeyValue:
    """Redis when ``redis_url`` is given, else SQLite at ``db``."""
    if redis_url:
        import redis

        return RedisKeyValue(redis.Redis.from_url(redis_url))
    return SqliteKeyValue(db)


def seal(keyring: Keyring, label: str, data: dict[str, Any]) -> bytes:
    """``data`` as JSON, AES-256-GCM under the current key; ``label`` is bound in."""
    kid = keyring.current
    key = keyring.key(kid)
    assert key is not None
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = json.dumps([_SEAL_LABEL, label, kid]).encode()
    body = AESGCM(key).encrypt(nonce, json.dumps(data).encode(), aad)
    return json.dumps([kid, nonce.hex(), body.hex()]).encode()


def unseal(keyring: Keyring, label: str, blob: bytes) -> dict[str, Any]:
    """The data :func:`seal` sealed under ``label``; :class:`VaultIntegrityError` otherwise."""
    try:
        kid, nonce, body = json.loads(blob)
        key = keyring.key(kid)
        if key is None:
            raise VaultIntegrityError("sealed record under an unknown key id")
        aad = json.dumps([_SEAL_LABEL, label, kid]).encode()
        data = json.loads(AESGCM(key).decrypt(bytes.fromhex(nonce), bytes.fromhex(body), aad))
    except (InvalidTag, ValueError, TypeError):
        raise VaultIntegrityError("sealed record failed authentication") from None
    if not isinstance(data, dict):
        raise VaultIntegrityError("sealed record malformed")
    return data


def _state_key(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class SealedPendingAuthorizations:
    """:class:`xaa.broker.PendingStore` in a shared :class:`KeyValue`, sealed at rest."""

    NAMESPACE = "pending"

    def __init__(self, kv: KeyValue, keyring: Keyring) -> None:
        self.kv = kv
        self.keyring = keyring

    def add(self, pending: PendingAuthorization, now: float) -> None:
        data = asdict(pending)
        data["scopes"] = sorted(pending.scopes)
        key = _state_key(pending.state)
        self.kv.put(self.NAMESPACE, key, seal(self.keyring, key, data), pending.expires_at)

    def _open(self, key: str, blob: bytes) -> PendingAuthorization:
        data = unseal(self.keyring, key, blob)
        data["scopes"] = frozenset(data["scopes"])
        return PendingAuthorization(**data)

    def take(self, state: str | None, now: float) -> PendingAuthorization:
        if not state or len(state) > 512:
            raise InvalidRequest("Unknown or expired authorization request.", detail="bad state")
        key = _state_key(state)
        blob = self.kv.take(self.NAMESPACE, key, now)
        if blob is None:
            raise InvalidRequest("Unknown or expired authorization request.", detail="bad state")
        pending = self._open(key, blob)
        if not secrets.compare_digest(pending.state, state) or pending.expires_at <= now:
            raise InvalidRequest("Unknown or expired authorization request.", detail="stale state")
        return pending

    def drop(self, person: str | None, agent: str | None, app: str | None) -> int:
        dropped = 0
        for key, blob in self.kv.items(self.NAMESPACE, time.time()):
            try:
                pending = self._open(key, blob)
            except VaultIntegrityError:
                dropped += self.kv.delete(self.NAMESPACE, key)
                continue
            if (
                (person is None or pending.person == person)
                and (agent is None or pending.agent == agent)
                and (app is None or pending.app == app)
            ):
                dropped += self.kv.delete(self.NAMESPACE, key)
        return dropped


class VaultSessions:
    """:class:`xaa.broker.SessionStore`: each person's IdP sign-in, in the vault (a copy per
    call; the broker writes a refreshed or rotated one back)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @staticmethod
    def slot(person: str) -> Slot:
        """Where ``person``'s IdP sign-in lives (revoking the person deletes it)."""
        return Slot(SecretKind.REFRESH_TOKEN, person, IDP_APP)

    def keep(self, person: str, session: IdentitySession) -> None:
        """Vault ``session`` (ID token and IdP refresh token) for ``person``."""
        data = {
            "id_token": session.id_token,
            "refresh_token": session.refresh_token,
            "subject": session.subject,
        }
        self.vault.put(self.slot(person), VaultEntry(json.dumps(data)))

    def forget(self, person: str) -> bool:
        """Delete ``person``'s IdP sign-in."""
        return self.vault.delete(self.slot(person))

    def session(self, person: str) -> IdentitySession | None:
        entry = self.vault.get(self.slot(person))
        if entry is None:
            return None
        data = json.loads(entry.secret)
        return IdentitySession(
            id_token=data["id_token"],
            refresh_token=data["refresh_token"],
            subject=data.get("subject"),
        )


class RedisAttributionLog:
    """:class:`xaa.broker.AttributionLog` as a Redis list of JSON records."""

    def __init__(self, client: Any, key: str = "xaa:broker:log") -> None:
        self.client = client
        self.key = key

    def append(self, record: MintRecord) -> None:
        self.client.rpush(self.key, json.dumps(record.to_json(), separators=(",", ":")))

    def records(self) -> list[MintRecord]:
        return [
            MintRecord.from_json(json.loads(raw)) for raw in self.client.lrange(self.key, 0, -1)
        ]


class RedisRevocationList:
    """:class:`xaa.broker.RevocationList` as a Redis hash (``kind:value`` -> time)."""

    def __init__(self, client: Any, key: str = "xaa:broker:revoked") -> None:
        self.client = client
        self.key = key

    def add(self, target: RevocationTarget, at: float) -> None:
        self.client.hsetnx(self.key, str(target), at)

    def remove(self, target: RevocationTarget) -> bool:
        return bool(self.client.hdel(self.key, str(target)))

    def targets(self) -> list[RevocationTarget]:
        out = []
        for raw in sorted(self.client.hkeys(self.key)):
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            kind, _, value = text.partition(":")
            out.append(RevocationTarget(cast(TargetKind, kind), value))
        return out
