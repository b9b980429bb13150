"""RFC 9449 §8 (AS) and §9 (RS) server nonces: stateless HMAC source and the challenges."""

from __future__ import annotations

import json

import pytest

from tests.dpop.dpop_support import HTM, HTU, NOW, forge, rejected
from xaa import UseDpopNonce
from xaa.dpop import (
    HmacNonceSource,
    dpop_nonce_challenge,
    resource_error_response,
    verify_proof,
)
from xaa.stores import MemoryReplayStore

SECRET = b"s" * 32
STEP = 120
START = NOW - NOW % STEP  # the first second of a step


def source() -> HmacNonceSource:
    return HmacNonceSource(SECRET, step=STEP)


def test_nonce_valid_in_its_step_and_the_next() -> None:
    nonce = source().issue(START)
    assert source().check(nonce, START)
    assert source().check(nonce, START + STEP - 1)
    assert source().check(nonce, START + 2 * STEP - 1)
    assert not source().check(nonce, START + 2 * STEP)
    assert not source().check(nonce, START - 1)


def test_nonce_is_bound_to_the_secret() -> None:
    nonce = source().issue(START)
    assert not HmacNonceSource(b"t" * 32, step=STEP).check(nonce, START)


@pytest.mark.parametrize("bad", ["", "x", "é" * 10, source().issue(START) + "A"])
def test_unknown_nonce_is_false_not_an_exception(bad: str) -> None:
    assert not source().check(bad, START)


def test_injectable_clock_serves_calls_without_now() -> None:
    clock = [float(START)]
    nonces = HmacNonceSource(SECRET, step=STEP, clock=lambda: clock[0])
    nonce = nonces.issue()
    clock[0] += 2 * STEP
    assert not nonces.check(nonce)
    assert nonces.check(nonces.issue())


def test_weak_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        HmacNonceSource(b"short")
    with pytest.raises(ValueError):
        HmacNonceSource(SECRET, step=0)


def test_repr_hides_the_secret() -> None:
    assert "sss" not in repr(source())


def verify(proof: str) -> object:
    return verify_proof(
        proof, htm=HTM, htu=HTU, replay=MemoryReplayStore(), now=NOW, nonce=source()
    )


def test_proof_with_the_current_nonce_is_accepted() -> None:
    proof = forge(payload={"nonce": source().issue(NOW)})
    assert verify(proof) is not None


def test_proof_with_the_previous_steps_nonce_is_accepted() -> None:
    proof = forge(payload={"nonce": source().issue(NOW - STEP)})
    assert verify(proof) is not None


@pytest.mark.parametrize(
    ("nonce", "detail"),
    [
        (None, "nonce missing"),
        ("stale", "nonce stale or unknown"),
        ("old", "nonce stale or unknown"),
    ],
)
def test_missing_or_stale_nonce_asks_for_a_fresh_one(nonce: str | None, detail: str) -> None:
    payload = {} if nonce is None else {"nonce": nonce}
    if nonce == "old":
        payload["nonce"] = source().issue(NOW - 2 * STEP)
    exc = rejected(forge(payload=payload), code="use_dpop_nonce", nonce=source())
    assert exc.detail == detail
    fresh = source().issue(NOW)
    # RFC 9449 §8: the AS answers 400 JSON use_dpop_nonce with a DPoP-Nonce header.
    response = exc.to_response()
    assert response.status == 400
    assert json.loads(response.body)["error"] == "use_dpop_nonce"
    assert response.headers["dpop-nonce"] == fresh
    assert response.headers["cache-control"] == "no-store"
    assert dpop_nonce_challenge(response.status, response.headers, response.body) == fresh


def test_nonce_is_not_required_without_a_source() -> None:
    proof = forge(payload={"nonce": "anything"})
    assert verify_proof(proof, htm=HTM, htu=HTU, replay=MemoryReplayStore(), now=NOW)


def test_resource_server_nonce_challenge_is_401_with_www_authenticate() -> None:
    exc = UseDpopNonce(detail="nonce missing", headers={"DPoP-Nonce": "abc"})
    response = resource_error_response(exc, algs=("ES256",))
    assert response.status == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('DPoP error="use_dpop_nonce"')
    assert challenge.endswith('algs="ES256"')
    assert response.headers["dpop-nonce"] == "abc"
    assert response.headers["cache-control"] == "no-store"
    assert dpop_nonce_challenge(response.status, response.headers, response.body) == "abc"


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (400, {}, b'{"error":"use_dpop_nonce"}'),
        (400, {"dpop-nonce": "n"}, b'{"error":"invalid_dpop_proof"}'),
        (400, {"dpop-nonce": "n"}, b"not json"),
        (400, {"dpop-nonce": "n"}, b"[1]"),
        (401, {"dpop-nonce": "n", "www-authenticate": 'Bearer error="invalid_token"'}, b""),
        (401, {"dpop-nonce": "n", "www-authenticate": 'DPoP error="invalid_token"'}, b""),
        (200, {"dpop-nonce": "n"}, b"{}"),
    ],
)
def test_other_responses_are_not_nonce_challenges(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    assert dpop_nonce_challenge(status, headers, body) is None


def test_nonce_challenge_among_several_challenges() -> None:
    headers = {
        "dpop-nonce": "n-1",
        "www-authenticate": 'Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"',
    }
    assert dpop_nonce_challenge(401, headers, b"") == "n-1"


def test_a_nonce_outside_nqchar_is_a_protocol_violation() -> None:
    from xaa import ProtocolViolation

    with pytest.raises(ProtocolViolation):
        dpop_nonce_challenge(400, {"dpop-nonce": 'a"b'}, b'{"error":"use_dpop_nonce"}')
