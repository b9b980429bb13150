"""DPoP jti replay through a real Redis: single use across processes sharing the store."""

from __future__ import annotations

import threading

import pytest

from tests.dpop.dpop_support import ES_KEY, HTM, HTU, NOW
from xaa import InvalidDpopProof, OAuthError
from xaa.adapters.redis_store import RedisReplayStore
from xaa.dpop import make_proof, verify_proof

pytestmark = pytest.mark.redis


def test_a_proof_accepted_by_one_server_is_replayed_at_another(redis_url: str) -> None:
    first, second = RedisReplayStore(redis_url), RedisReplayStore(redis_url)
    try:
        proof = make_proof(ES_KEY, HTM, HTU, now=NOW)
        assert verify_proof(proof, htm=HTM, htu=HTU, replay=first, now=NOW).jkt == ES_KEY.jkt
        with pytest.raises(InvalidDpopProof) as info:
            verify_proof(proof, htm=HTM, htu=HTU, replay=second, now=NOW)
        assert info.value.detail == "jti replayed"
    finally:
        first.close()
        second.close()


def test_concurrent_presentations_through_redis_succeed_once(redis_url: str) -> None:
    proof = make_proof(ES_KEY, HTM, HTU, now=NOW)
    outcomes: list[str] = []

    def present() -> None:
        store = RedisReplayStore(redis_url)
        try:
            verify_proof(proof, htm=HTM, htu=HTU, replay=store, now=NOW)
            outcomes.append("ok")
        except OAuthError as exc:
            outcomes.append(exc.detail)
        finally:
            store.close()

    threads = [threading.Thread(target=present) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["jti replayed"] * 5 + ["ok"]


def test_unreachable_redis_fails_closed_with_503() -> None:
    store = RedisReplayStore("redis://127.0.0.1:1/0", timeout=0.2)
    try:
        with pytest.raises(OAuthError) as info:
            verify_proof(
                make_proof(ES_KEY, HTM, HTU, now=NOW), htm=HTM, htu=HTU, replay=store, now=NOW
            )
        assert info.value.error == "temporarily_unavailable"
        assert info.value.to_response().status == 503
    finally:
        store.close()
