"""The vault: ciphertext at rest, tamper and swap detection, key rotation, key loading."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xaa import ConfigurationError
from xaa.adapters._vault import (
    KEY_FILE_ENV,
    KEYS_ENV,
    Keyring,
    Record,
    RedisVaultBackend,
    SecretVault,
    SqliteVaultBackend,
    sqlite_vault,
)
from xaa.broker import SecretKind, Slot, VaultEntry, VaultIntegrityError

ALICE = Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy")
BOB = Slot(SecretKind.REFRESH_TOKEN, "bob", "legacy")
SECRET = "rt-very-secret-refresh-token-value"


def _vault(tmp_path: Path, keyring: Keyring | None = None) -> SecretVault:
    return SecretVault(keyring or Keyring.generate(), SqliteVaultBackend(tmp_path / "v.db"))


def _sql(tmp_path: Path, query: str, *args: object) -> None:
    conn = sqlite3.connect(tmp_path / "v.db", isolation_level=None)
    conn.execute(query, args)
    conn.close()


def test_round_trip_and_ciphertext_at_rest(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.put(ALICE, VaultEntry(SECRET, frozenset({"chat.read"}), "summarizer"))
    assert vault.get(ALICE) == VaultEntry(SECRET, frozenset({"chat.read"}), "summarizer")
    assert SECRET.encode() not in (tmp_path / "v.db").read_bytes()
    assert b"chat.read" not in (tmp_path / "v.db").read_bytes()
    assert vault.get(BOB) is None
    assert SECRET not in repr(vault.get(ALICE))
    assert vault.slots() == [(ALICE, "summarizer")]
    assert vault.delete(ALICE) is True and vault.get(ALICE) is None
    assert vault.delete(ALICE) is False


def test_fresh_nonce_per_write(tmp_path: Path) -> None:
    backend = SqliteVaultBackend(tmp_path / "v.db")
    vault = SecretVault(Keyring.generate(), backend)
    vault.put(ALICE, VaultEntry(SECRET))
    first = backend.read(ALICE)
    vault.put(ALICE, VaultEntry(SECRET))
    second = backend.read(ALICE)
    assert first is not None and second is not None
    assert first.nonce != second.nonce and first.ciphertext != second.ciphertext


@settings(max_examples=60, deadline=None)
@given(
    field=st.sampled_from(["nonce", "ciphertext"]), index=st.integers(0, 200), bit=st.integers(0, 7)
)
def test_any_flipped_bit_is_an_error_never_a_miss(
    tmp_path_factory: pytest.TempPathFactory, field: str, index: int, bit: int
) -> None:
    path = tmp_path_factory.mktemp("vault") / "v.db"
    backend = SqliteVaultBackend(path)
    vault = SecretVault(Keyring.generate(), backend)
    vault.put(ALICE, VaultEntry(SECRET, frozenset({"chat.read"})))
    record = backend.read(ALICE)
    assert record is not None
    data = bytearray(getattr(record, field))
    data[index % len(data)] ^= 1 << bit
    tampered = {"nonce": record.nonce, "ciphertext": record.ciphertext, field: bytes(data)}
    backend.write(Record(ALICE, None, record.key_id, tampered["nonce"], tampered["ciphertext"]))
    with pytest.raises(VaultIntegrityError):
        vault.get(ALICE)


def test_row_swapped_into_another_slot_is_detected(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.put(ALICE, VaultEntry("alice-token"))
    vault.put(BOB, VaultEntry("bob-token"))
    _sql(tmp_path, "DELETE FROM xaa_broker_vault WHERE subject = 'alice'")
    _sql(tmp_path, "UPDATE xaa_broker_vault SET subject = 'alice' WHERE subject = 'bob'")
    with pytest.raises(VaultIntegrityError):
        vault.get(ALICE)


def test_row_moved_to_another_app_or_kind_is_detected(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.put(ALICE, VaultEntry("alice-token"))
    _sql(tmp_path, "UPDATE xaa_broker_vault SET app = 'chat'")
    with pytest.raises(VaultIntegrityError):
        vault.get(Slot(SecretKind.REFRESH_TOKEN, "alice", "chat"))
    _sql(tmp_path, "UPDATE xaa_broker_vault SET app = 'legacy', kind = 'client_secret'")
    with pytest.raises(VaultIntegrityError):
        vault.get(Slot(SecretKind.CLIENT_SECRET, "alice", "legacy"))


def test_changed_actor_column_is_detected(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.put(ALICE, VaultEntry("alice-token", actor="summarizer"))
    _sql(tmp_path, "UPDATE xaa_broker_vault SET actor = 'someone-else'")
    with pytest.raises(VaultIntegrityError):
        vault.get(ALICE)


def test_unknown_key_id_is_an_error(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    vault.put(ALICE, VaultEntry("alice-token"))
    _sql(tmp_path, "UPDATE xaa_broker_vault SET key_id = 'k9'")
    with pytest.raises(VaultIntegrityError):
        vault.get(ALICE)


def test_other_key_cannot_decrypt(tmp_path: Path) -> None:
    _vault(tmp_path).put(ALICE, VaultEntry("alice-token"))
    with pytest.raises(VaultIntegrityError):
        _vault(tmp_path).get(ALICE)  # a fresh k1, not the one that encrypted


def test_key_rotation(tmp_path: Path) -> None:
    old = Keyring.generate("k1")
    _vault(tmp_path, old).put(ALICE, VaultEntry("alice-token", frozenset({"a"})))
    _vault(tmp_path, old).put(BOB, VaultEntry("bob-token"))
    new = old.rotated("k2")
    assert new.current == "k2" and set(new.ids) == {"k1", "k2"}
    vault = _vault(tmp_path, new)
    entry = vault.get(ALICE)
    assert entry is not None and entry.secret == "alice-token"  # old ciphertext still readable
    with pytest.raises(VaultIntegrityError):
        _vault(tmp_path, new.without("k1")).get(ALICE)  # not yet re-encrypted
    assert vault.rotate() == 2
    assert vault.rotate() == 0
    assert {r.key_id for r in vault.backend.records()} == {"k2"}
    only_new = _vault(tmp_path, new.without("k1"))
    assert only_new.get(ALICE) == VaultEntry("alice-token", frozenset({"a"}))
    with pytest.raises(ConfigurationError):
        new.without("k2")


def test_keyring_from_environment_and_file(tmp_path: Path) -> None:
    ring = Keyring.generate("k1").rotated("k2")
    env = Keyring.from_environment({KEYS_ENV: ring.to_text().replace("\n", ",")})
    assert env.current == "k2" and env.key("k1") == ring.key("k1")
    key_file = tmp_path / "broker.keys"
    key_file.write_text(ring.to_text())
    from_file = Keyring.from_environment({KEY_FILE_ENV: str(key_file)})
    assert from_file.current == "k2" and from_file.key("k2") == ring.key("k2")
    assert "k2" in repr(ring) and str(ring.key("k2")) not in repr(ring)
    with pytest.raises(ConfigurationError):
        Keyring.from_environment({})
    default = sqlite_vault(tmp_path / "x.db", ring)
    assert default.keyring is ring


@pytest.mark.parametrize(
    "text", ["", "k1", "k1:", "k1:AAAA", "bad id:" + "A" * 43, "k1:!!!", "k1:{0},k1:{0}"]
)
def test_malformed_keys_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError):
        Keyring.from_text(text.format("A" * 43))


@pytest.mark.redis
def test_redis_backend(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    vault = SecretVault(Keyring.generate(), RedisVaultBackend(client))
    vault.put(ALICE, VaultEntry(SECRET, frozenset({"chat.read"}), "summarizer"))
    vault.put(BOB, VaultEntry("bob-token"))
    assert vault.get(ALICE) == VaultEntry(SECRET, frozenset({"chat.read"}), "summarizer")
    assert sorted(s.subject for s, _ in vault.slots()) == ["alice", "bob"]
    for key in client.scan_iter():
        assert SECRET.encode() not in b"".join(client.hgetall(key).values())
    # swap bob's ciphertext into alice's slot
    backend = vault.backend
    assert isinstance(backend, RedisVaultBackend)
    bob = client.hgetall(backend._key(BOB))
    client.hset(backend._key(ALICE), mapping={**bob, b"actor": b"summarizer"})
    with pytest.raises(VaultIntegrityError):
        vault.get(ALICE)
    assert vault.delete(ALICE) is True and vault.get(ALICE) is None
    client.close()
