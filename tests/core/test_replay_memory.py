"""MemoryReplayStore: first use wins, expiry, namespaces and issuers kept apart."""

from __future__ import annotations

import asyncio
import threading

import pytest

from xaa import ReplayStore, ReplayStoreUnavailable, TemporarilyUnavailable
from xaa._replay import ReplayClaim, claim_once
from xaa.stores import MemoryReplayStore


def test_first_use_then_holder() -> None:
    store = MemoryReplayStore()
    assert isinstance(store, ReplayStore)
    assert store.claim("ns", "iss", "j", holder="a", expires_at=100, now=0) is None
    assert store.claim("ns", "iss", "j", holder="b", expires_at=100, now=1) == "a"


def test_keyed_on_issuer_and_namespace() -> None:
    store = MemoryReplayStore()
    assert store.claim("ns", "iss1", "j", holder="a", expires_at=100, now=0) is None
    assert store.claim("ns", "iss2", "j", holder="a", expires_at=100, now=0) is None
    assert store.claim("other", "iss1", "j", holder="a", expires_at=100, now=0) is None


def test_expired_entries_can_be_claimed_again() -> None:
    store = MemoryReplayStore()
    store.claim("ns", "i", "j", holder="a", expires_at=100, now=0)
    assert store.claim("ns", "i", "j", holder="b", expires_at=200, now=100) is None


def test_concurrent_claims_have_one_winner() -> None:
    store = MemoryReplayStore()
    wins: list[str] = []
    barrier = threading.Barrier(20)

    def go(name: str) -> None:
        barrier.wait()
        if store.claim("ns", "i", "j", holder=name, expires_at=100, now=0) is None:
            wins.append(name)

    threads = [threading.Thread(target=go, args=(f"t{i}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_full_store_fails_closed() -> None:
    store = MemoryReplayStore(max_entries=2)
    store.claim("ns", "i", "1", holder="a", expires_at=100, now=0)
    store.claim("ns", "i", "2", holder="a", expires_at=100, now=0)
    with pytest.raises(TemporarilyUnavailable) as info:
        claim_once(store, "ns", "i", "3", holder="a", expires_at=100, now=0)
    assert info.value.to_response().status == 503
    assert store.claim("ns", "i", "3", holder="a", expires_at=300, now=150) is None


class _Down:
    def claim(self, *args: object, **kwargs: object) -> str | None:
        raise ReplayStoreUnavailable("down")

    async def claim_async(self, *args: object, **kwargs: object) -> str | None:
        raise ReplayStoreUnavailable("down")


class _Async:
    def __init__(self, store: MemoryReplayStore) -> None:
        self.store = store

    async def claim_async(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        return self.store.claim(
            namespace, issuer, jti, holder=holder, expires_at=expires_at, now=now
        )


def test_blocking_and_awaited_claims_answer_alike() -> None:
    store = MemoryReplayStore()
    first = ReplayClaim(store, "ns", "iss", "j", "a", 100, 0)
    again = ReplayClaim(store, "ns", "iss", "j", "b", 100, 1)
    assert first.perform() is None
    assert asyncio.run(again.perform_async(_Async(store))) == "a"
    assert again.perform() == "a"


def test_blocking_and_awaited_claims_fail_closed_alike() -> None:
    call = ReplayClaim(_Down(), "ns", "iss", "j", "a", 100, 0)  # type: ignore[arg-type]
    with pytest.raises(TemporarilyUnavailable) as blocking:
        call.perform()
    with pytest.raises(TemporarilyUnavailable) as awaited:
        asyncio.run(call.perform_async(_Down()))
    assert (
        blocking.value.detail
        == awaited.value.detail
        == "replay store unavailable: ReplayStoreUnavailable"
    )
    assert blocking.value.to_response().status == 503
