"""The broker's vault: AES-256-GCM at rest, SQLite by default, Redis optional.

- Keys: a :class:`Keyring` of versioned key ids; the first is current. From
  ``XAA_BROKER_KEYS`` (``kid:base64url-key[,kid:key...]``) or the file named
  by ``XAA_BROKER_KEY_FILE`` (same text, one key per line). No key: refuse to start.
- Each record: key id, a fresh 96-bit nonce, ciphertext+tag. The associated
  data binds it to its slot (kind, person, app), the agent that obtained it and
  the key id: a row moved to another slot, or a changed column, fails to decrypt.
- :meth:`SecretVault.get` raises :class:`~xaa.broker.VaultIntegrityError`
  on any failure (tampered, swapped, unknown key id); never a silent miss.
- Rotation: :meth:`Keyring.rotated` adds a new current key; :meth:`SecretVault.rotate`
  re-encrypts every record under it; until then old records stay readable.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._errors import ConfigurationError
from ..broker._errors import VaultIntegrityError
from ..broker._vault import SecretKind, Slot, VaultEntry
from ._broker_sqlite import ThreadLocalSqlite

KEYS_ENV = "XAA_BROKER_KEYS"
KEY_FILE_ENV = "XAA_BROKER_KEY_FILE"
KEY_BYTES = 32
NONCE_BYTES = 12
AAD_LABEL = "xaa-broker-vault/1"
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Keyring:
    """Versioned AES-256 keys; ``current`` encrypts, every key decrypts. Never in ``repr``."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ConfigurationError("the current key id is not in the keyring")
        for kid, key in keys.items():
            if not _KID.match(kid) or len(key) != KEY_BYTES:
                raise ConfigurationError("each key needs an id [A-Za-z0-9._-] and 32 bytes")
        self._keys = dict(keys)
        self.current = current

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, ids={sorted(self._keys)!r})"

    @property
    def ids(self) -> list[str]:
        """Every key id."""
        return list(self._keys)

    def key(self, kid: str) -> bytes | None:
        """The key ``kid``, ``None`` when unknown."""
        return self._keys.get(kid)

    @classmethod
    def generate(cls, kid: str = "k1") -> Keyring:
        """A keyring with one fresh random key."""
        return cls({kid: secrets.token_bytes(KEY_BYTES)}, kid)

    def rotated(self, kid: str | None = None) -> Keyring:
        """This keyring plus a fresh key that becomes current (old keys still decrypt)."""
        kid = kid or f"k{len(self._keys) + 1}"
        if kid in self._keys:
            raise ConfigurationError("that key id is taken")
        return Keyring({kid: secrets.token_bytes(KEY_BYTES), **self._keys}, kid)

    def without(self, kid: str) -> Keyring:
        """This keyring without ``kid`` (after :meth:`SecretVault.rotate`); not the current."""
        if kid == self.current:
            raise ConfigurationError("cannot drop the current key")
        return Keyring({k: v for k, v in self._keys.items() if k != kid}, self.current)

    def to_text(self) -> str:
        """``kid:key`` per line, current first: the key file (and, joined by commas, the env)."""
        order = [self.current, *[k for k in self._keys if k != self.current]]
        return "".join(f"{kid}:{_b64(self._keys[kid])}\n" for kid in order)

    @classmethod
    def from_text(cls, text: str) -> Keyring:
        """Parse ``kid:key`` items separated by commas or newlines; the first is current."""
        keys: dict[str, bytes] = {}
        for item in re.split(r"[,\n]", text):
            item = item.strip()
            if not item:
                continue
            kid, sep, encoded = item.partition(":")
            try:
                key = _unb64(encoded) if sep else b""
            except (binascii.Error, ValueError):
                key = b""
            if kid in keys or len(key) != KEY_BYTES:
                raise ConfigurationError(
                    "malformed broker key (expected kid:base64url of 32 bytes)"
                )
            keys[kid] = key
        if not keys:
            raise ConfigurationError("no broker key")
        return cls(keys, next(iter(keys)))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Keyring:
        """From ``XAA_BROKER_KEYS``, else the file named by ``XAA_BROKER_KEY_FILE``."""
        env = os.environ if environ is None else environ
        if env.get(KEYS_ENV):
            return cls.from_text(env[KEYS_ENV])
        if env.get(KEY_FILE_ENV):
            return cls.from_text(Path(env[KEY_FILE_ENV]).read_text("ascii"))
        raise ConfigurationError(
            f"set {KEYS_ENV} or {KEY_FILE_ENV} (xaa broker keygen makes a key)"
        )


@dataclass(frozen=True, slots=True)
class Record:
    """One stored ciphertext and the columns bound into its associated data."""

    slot: Slot
    actor: str | None
    key_id: str
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


class VaultBackend(Protocol):
    """Raw record storage; knows nothing of keys."""

    def read(self, slot: Slot) -> Record | None:
        """The record of ``slot``."""
        ...

    def write(self, record: Record) -> None:
        """Insert or replace the record of ``record.slot``."""
        ...

    def remove(self, slot: Slot) -> bool:
        """Delete; True when it existed."""
        ...

    def records(self) -> list[Record]:
        """Every record."""
        ...


def _aad(slot: Slot, actor: str | None, key_id: str) -> bytes:
    fields = [AAD_LABEL, str(slot.kind), slot.subject, slot.app, actor, key_id]
    return json.dumps(fields, separators=(",", ":")).encode()


class SecretVault:
    """:class:`xaa.broker.Vault` with AES-256-GCM over a :class:`VaultBackend`."""

    def __init__(self, keyring: Keyring, backend: VaultBackend) -> None:
        self.keyring = keyring
        self.backend = backend

    def _seal(self, slot: Slot, entry: VaultEntry) -> Record:
        kid = self.keyring.current
        key = self.keyring.key(kid)
        assert key is not None
        nonce = secrets.token_bytes(NONCE_BYTES)
        plaintext = json.dumps({"secret": entry.secret, "scopes": sorted(entry.scopes)}).encode()
        sealed = AESGCM(key).encrypt(nonce, plaintext, _aad(slot, entry.actor, kid))
        return Record(slot, entry.actor, kid, nonce, sealed)

    def _open(self, slot: Slot, record: Record) -> VaultEntry:
        key = self.keyring.key(record.key_id)
        if key is None:
            raise VaultIntegrityError("vault record under an unknown key id")
        try:
            plaintext = AESGCM(key).decrypt(
                record.nonce, record.ciphertext, _aad(slot, record.actor, record.key_id)
            )
            data: Any = json.loads(plaintext)
            secret, scopes = data["secret"], data["scopes"]
        except (InvalidTag, ValueError, KeyError, TypeError):
            raise VaultIntegrityError("vault record failed authentication") from None
        if not isinstance(secret, str) or not isinstance(scopes, list):
            raise VaultIntegrityError("vault record malformed")
        return VaultEntry(secret, frozenset(str(s) for s in scopes), record.actor)

    def put(self, slot: Slot, entry: VaultEntry) -> None:
        """Encrypt ``entry`` under the current key into ``slot``."""
        self.backend.write(self._seal(slot, entry))

    def get(self, slot: Slot) -> VaultEntry | None:
        """Decrypt ``slot``; ``None`` only when absent."""
        record = self.backend.read(slot)
        return None if record is None else self._open(slot, record)

    def delete(self, slot: Slot) -> bool:
        """Remove ``slot``."""
        return self.backend.remove(slot)

    def slots(self) -> list[tuple[Slot, str | None]]:
        """Every slot and its agent (no decryption)."""
        return [(r.slot, r.actor) for r in self.backend.records()]

    def rotate(self) -> int:
        """Re-encrypt every record not under the current key; the count re-encrypted."""
        count = 0
        for record in self.backend.records():
            if record.key_id != self.keyring.current:
                self.backend.write(self._seal(record.slot, self._open(record.slot, record)))
                count += 1
        return count


_SCHEMA = """
CREATE TABLE IF NOT EXISTS xaa_broker_vault (
    kind TEXT NOT NULL, subject TEXT NOT NULL, app TEXT NOT NULL, actor TEXT,
    key_id TEXT NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL,
    PRIMARY KEY (kind, subject, app)
) WITHOUT ROWID;
"""


class SqliteVaultBackend(ThreadLocalSqlite):
    """Records in the SQLite file ``path`` (a connection per thread)."""

    SCHEMA = _SCHEMA

    def read(self, slot: Slot) -> Record | None:
        row = (
            self._conn()
            .execute(
                "SELECT actor, key_id, nonce, ciphertext FROM xaa_broker_vault"
                " WHERE kind = ? AND subject = ? AND app = ?",
                (str(slot.kind), slot.subject, slot.app),
            )
            .fetchone()
        )
        return None if row is None else Record(slot, row[0], row[1], row[2], row[3])

    def write(self, record: Record) -> None:
        slot = record.slot
        self._conn().execute(
            "INSERT OR REPLACE INTO xaa_broker_vault VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                str(slot.kind),
                slot.subject,
                slot.app,
                record.actor,
                record.key_id,
                record.nonce,
                record.ciphertext,
            ),
        )

    def remove(self, slot: Slot) -> bool:
        cursor = self._conn().execute(
            "DELETE FROM xaa_broker_vault WHERE kind = ? AND subject = ? AND app = ?",
            (str(slot.kind), slot.subject, slot.app),
        )
        return cursor.rowcount > 0

    def records(self) -> list[Record]:
        rows = self._conn().execute(
            "SELECT kind, subject, app, actor, key_id, nonce, ciphertext FROM xaa_broker_vault"
        )
        return [Record(Slot(SecretKind(r[0]), r[1], r[2]), r[3], r[4], r[5], r[6]) for r in rows]


class RedisVaultBackend:
    """Records as Redis hashes under ``prefix`` (a ``redis.Redis`` client)."""

    def __init__(self, client: Any, prefix: str = "xaa:broker:vault:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, slot: Slot) -> str:
        return self.prefix + json.dumps([str(slot.kind), slot.subject, slot.app])

    def _record(self, slot: Slot, raw: Mapping[bytes, bytes]) -> Record | None:
        if not raw:
            return None
        actor = raw.get(b"actor", b"").decode()
        return Record(
            slot,
            actor or None,
            raw[b"key_id"].decode(),
            raw[b"nonce"],
            raw[b"ciphertext"],
        )

    def read(self, slot: Slot) -> Record | None:
        return self._record(slot, self.client.hgetall(self._key(slot)))

    def write(self, record: Record) -> None:
        mapping = {
            "actor": record.actor or "",
            "key_id": record.key_id,
            "nonce": record.nonce,
            "ciphertext": record.ciphertext,
        }
        self.client.hset(self._key(record.slot), mapping=mapping)

    def remove(self, slot: Slot) -> bool:
        return bool(self.client.delete(self._key(slot)))

    def records(self) -> list[Record]:
        out: list[Record] = []
        for key in self.client.scan_iter(match=self.prefix + "*"):
            name = key.decode() if isinstance(key, bytes) else key
            kind, subject, app = json.loads(name[len(self.prefix) :])
            slot = Slot(SecretKind(kind), subject, app)
            record = self._record(slot, self.client.hgetall(key))
            if record is not None:
                out.append(record)
        return out


def sqlite_vault(path: str | Path, keyring: Keyring | None = None) -> SecretVault:
    """The default vault: SQLite at ``path``, keys from the environment unless given."""
    return SecretVault(keyring or Keyring.from_environment(), SqliteVaultBackend(path))
