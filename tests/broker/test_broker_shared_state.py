"""Shared state for brokers on several workers and hosts, in SQLite and in Redis: the expiring
key-value store, sealed pending authorizations, vaulted IdP sessions, the Redis log and kill
switch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xaa import InvalidRequest
from xaa.adapters.broker import (
    Keyring,
    KeyValue,
    RedisAttributionLog,
    RedisKeyValue,
    RedisRevocationList,
    SealedPendingAuthorizations,
    SecretVault,
    SqliteKeyValue,
    SqliteVaultBackend,
    VaultSessions,
)
from xaa.broker import (
    MintRecord,
    PendingAuthorization,
    RevocationTarget,
    VaultIntegrityError,
    authorization_request,
)
from xaa.client import IdentitySession


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValue]:
    if request.param == "sqlite":
        yield SqliteKeyValue(tmp_path / "kv.sqlite3")
        return
    import redis

    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield RedisKeyValue(client)
    client.close()


def _pending(now: float, person: str = "alice", agent: str | None = "bot") -> PendingAuthorization:
    return authorization_request(
        "http://127.0.0.1:1/authorize",
        client_id="c",
        redirect_uri="http://127.0.0.1:2/callback",
        resource="http://127.0.0.1:1/api",
        scopes=frozenset({"chat.read"}),
        person=person,
        agent=agent,
        app="legacy",
        now=now,
    )


def test_take_is_single_use_and_respects_expiry(kv: KeyValue) -> None:
    now = time.time()
    kv.put("ns", "a", b"1", now + 60)
    kv.put("ns", "gone", b"2", now - 1)
    assert kv.get("ns", "a", now) == b"1"
    assert kv.get("ns", "gone", now) is None
    assert [k for k, _ in kv.items("ns", now)] == ["a"]
    assert kv.take("ns", "a", now) == b"1"
    assert kv.take("ns", "a", now) is None
    kv.put("ns", "forever", b"3", None)
    assert kv.delete("ns", "forever") is True
    assert kv.delete("ns", "forever") is False


def test_pending_authorization_is_taken_once_on_any_worker(kv: KeyValue) -> None:
    keyring = Keyring.generate()
    now = time.time()
    pending = _pending(now)
    SealedPendingAuthorizations(kv, keyring).add(pending, now)
    other_worker = SealedPendingAuthorizations(kv, keyring)
    taken = other_worker.take(pending.state, now)
    assert taken == pending
    with pytest.raises(InvalidRequest):
        other_worker.take(pending.state, now)


def test_pending_authorization_expires(kv: KeyValue) -> None:
    store = SealedPendingAuthorizations(kv, Keyring.generate())
    now = time.time()
    pending = _pending(now - 3600)
    store.add(pending, now - 3600)
    with pytest.raises(InvalidRequest):
        store.take(pending.state, now)


def test_pending_authorization_is_sealed_at_rest(kv: KeyValue) -> None:
    now = time.time()
    pending = _pending(now)
    SealedPendingAuthorizations(kv, Keyring.generate()).add(pending, now)
    ((key, blob),) = kv.items("pending", now)
    assert pending.code_verifier.encode() not in blob
    assert pending.state not in key
    with pytest.raises(VaultIntegrityError):  # another deployment's keys
        SealedPendingAuthorizations(kv, Keyring.generate()).take(pending.state, now)


def test_tampered_pending_authorization_fails_closed(kv: KeyValue) -> None:
    keyring = Keyring.generate()
    now = time.time()
    pending = _pending(now)
    store = SealedPendingAuthorizations(kv, keyring)
    store.add(pending, now)
    ((key, blob),) = kv.items("pending", now)
    kid, nonce, body = json.loads(blob)
    flipped = body[:-2] + ("00" if body[-2:] != "00" else "01")
    kv.put("pending", key, json.dumps([kid, nonce, flipped]).encode(), now + 60)
    with pytest.raises(VaultIntegrityError):
        store.take(pending.state, now)


def test_drop_forgets_matching_pending_requests(kv: KeyValue) -> None:
    store = SealedPendingAuthorizations(kv, Keyring.generate())
    now = time.time()
    for person, agent in (("alice", "bot"), ("alice", "other"), ("bob", "bot")):
        store.add(_pending(now, person, agent), now)
    assert store.drop("alice", "bot", None) == 1
    assert store.drop(None, "bot", None) == 1
    assert len(kv.items("pending", now)) == 1


def test_vault_sessions_round_trip_and_forget(tmp_path: Path) -> None:
    vault = SecretVault(Keyring.generate(), SqliteVaultBackend(tmp_path / "v.sqlite3"))
    sessions = VaultSessions(vault)
    assert sessions.session("alice") is None
    sessions.keep("alice", IdentitySession(refresh_token="rt", subject="https://idp alice"))
    kept = sessions.session("alice")
    assert kept is not None
    assert (kept.refresh_token, kept.subject) == ("rt", "https://idp alice")
    assert sessions.forget("alice") is True
    assert sessions.session("alice") is None


@pytest.mark.redis
def test_redis_log_and_kill_switch(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    log = RedisAttributionLog(client)
    record = MintRecord(
        time=1.0, event="mint", person="alice", agent="bot", app="chat", strategy="xaa"
    )
    log.append(record)
    assert log.records() == [record]
    revocations = RedisRevocationList(client)
    revocations.add(RevocationTarget("agent", "bot"), 1.0)
    assert revocations.targets() == [RevocationTarget("agent", "bot")]
    assert revocations.remove(RevocationTarget("agent", "bot")) is True
    assert revocations.targets() == []
    client.close()
