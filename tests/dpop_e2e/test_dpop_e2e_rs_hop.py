"""RFC 9449 §7 at the chat API over loopback: the DPoP scheme, ``ath``, the key match with
``cnf.jkt``, ``htu`` from the configured origin, replay, the ``iat`` window, nonces and
the scheme downgrade. Every refusal is 401 with a ``WWW-Authenticate`` challenge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dpop_e2e.dpop_e2e_support import (
    Stack,
    assert_refused,
    call_api,
    dpop_stack,
    dpop_token,
    exchange,
    forge_proof,
    id_jag,
    redeem,
)
from xaa.dpop import DpopKey, ath_for, make_proof

pytestmark = pytest.mark.e2e

KEY = DpopKey.generate()
OTHER = DpopKey.generate()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with dpop_stack(tmp_path_factory.mktemp("rs-hop")) as running:
        yield running


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return dpop_token(stack, KEY)


def _url(stack: Stack) -> str:
    return stack.api + "/channels"


def _challenge(response: httpx.Response, code: str) -> str:
    challenge = response.headers["www-authenticate"]
    assert f'error="{code}"' in challenge
    return challenge


def test_dpop_scheme_with_a_fresh_proof(stack: Stack, token: str) -> None:
    proof = make_proof(KEY, "GET", _url(stack), access_token=token)
    response = call_api(stack, f"DPoP {token}", proof)
    assert response.status_code == 200, response.text
    lower = call_api(
        stack, f"dpop {token}", make_proof(KEY, "GET", _url(stack), access_token=token)
    )
    assert lower.status_code == 200  # the scheme is case-insensitive


def test_bound_token_sent_as_bearer_is_invalid_token(stack: Stack, token: str) -> None:
    response = call_api(stack, f"Bearer {token}")
    assert_refused(response, 401, "invalid_token")
    assert _challenge(response, "invalid_token").startswith("Bearer ")
    with_proof = call_api(
        stack, f"Bearer {token}", make_proof(KEY, "GET", _url(stack), access_token=token)
    )
    assert_refused(with_proof, 401, "invalid_token")


def test_unbound_token_sent_as_dpop_is_invalid_token(stack: Stack) -> None:
    bearer = redeem(stack, id_jag(stack)).json()["access_token"]
    proof = make_proof(KEY, "GET", _url(stack), access_token=bearer)
    response = call_api(stack, f"DPoP {bearer}", proof)
    assert_refused(response, 401, "invalid_token")
    assert _challenge(response, "invalid_token").startswith("DPoP ")
    assert call_api(stack, f"Bearer {bearer}").status_code == 200  # as Bearer it still works


def _defects(stack: Stack, token: str) -> dict[str, str | list[str] | None]:
    url, now, ath = _url(stack), int(time.time()), ath_for(token)
    return {
        "no-proof": None,
        "ath-missing": make_proof(KEY, "GET", url),
        "ath-other-token": make_proof(KEY, "GET", url, access_token=token + "x"),
        "key-not-cnf": make_proof(OTHER, "GET", url, access_token=token),
        "htm-post": make_proof(KEY, "POST", url, access_token=token),
        "htu-other-path": make_proof(KEY, "GET", stack.api, access_token=token),
        "htu-the-as-token-endpoint": make_proof(KEY, "GET", stack.as_token, access_token=token),
        "iat-too-old": forge_proof(KEY, "GET", url, payload={"ath": ath, "iat": now - 120}),
        "iat-future": forge_proof(KEY, "GET", url, payload={"ath": ath, "iat": now + 60}),
        "typ-jwt": forge_proof(KEY, "GET", url, header={"typ": "JWT"}, payload={"ath": ath}),
        "signed-by-another-key": forge_proof(
            KEY, "GET", url, payload={"ath": ath}, sign_with=OTHER
        ),
        "two-proofs": [
            make_proof(KEY, "GET", url, access_token=token),
            make_proof(KEY, "GET", url, access_token=token),
        ],
    }


@pytest.mark.parametrize(
    "name",
    [
        "no-proof",
        "ath-missing",
        "ath-other-token",
        "key-not-cnf",
        "htm-post",
        "htu-other-path",
        "htu-the-as-token-endpoint",
        "iat-too-old",
        "iat-future",
        "typ-jwt",
        "signed-by-another-key",
        "two-proofs",
    ],
)
def test_proof_defect_is_401_invalid_dpop_proof(stack: Stack, token: str, name: str) -> None:
    response = call_api(stack, f"DPoP {token}", _defects(stack, token)[name])
    assert_refused(response, 401, "invalid_dpop_proof")
    challenge = _challenge(response, "invalid_dpop_proof")
    assert challenge.startswith("DPoP ") and 'algs="' in challenge
    assert "resource_metadata=" in challenge and token not in response.text


def test_replayed_proof_is_refused(stack: Stack, token: str) -> None:
    proof = make_proof(KEY, "GET", _url(stack), access_token=token)
    assert call_api(stack, f"DPoP {token}", proof).status_code == 200
    assert_refused(call_api(stack, f"DPoP {token}", proof), 401, "invalid_dpop_proof")


def test_htu_comes_from_the_configured_origin_not_the_host_header(stack: Stack, token: str) -> None:
    spoofed = {"host": "evil.example"}
    evil = make_proof(KEY, "GET", "http://evil.example/api/channels", access_token=token)
    assert_refused(
        call_api(stack, f"DPoP {token}", evil, headers=spoofed), 401, "invalid_dpop_proof"
    )
    good = make_proof(KEY, "GET", _url(stack), access_token=token)
    assert call_api(stack, f"DPoP {token}", good, headers=spoofed).status_code == 200


def test_htu_normalisation_at_the_resource(stack: Stack, token: str) -> None:
    port = stack.chat.rsplit(":", 1)[1]
    equivalent = f"HTTP://127.0.0.1:{port}/api/channels?page=2"
    proof = forge_proof(KEY, "GET", equivalent, payload={"ath": ath_for(token)})
    assert call_api(stack, f"DPoP {token}", proof).status_code == 200
    slash = forge_proof(KEY, "GET", _url(stack) + "/", payload={"ath": ath_for(token)})
    assert_refused(call_api(stack, f"DPoP {token}", slash), 401, "invalid_dpop_proof")


def test_nonce_challenge_at_the_resource(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, nonces=True) as stack:
        jag_nonce = _nonce_of(stack, stack.idp_token)
        jag = _exchange_with(stack, jag_nonce)
        as_nonce = redeem(stack, jag, make_proof(KEY, "POST", stack.as_token)).headers["dpop-nonce"]
        issued = redeem(stack, jag, make_proof(KEY, "POST", stack.as_token, nonce=as_nonce))
        token = issued.json()["access_token"]
        url = _url(stack)
        challenged = call_api(
            stack, f"DPoP {token}", make_proof(KEY, "GET", url, access_token=token)
        )
        assert_refused(challenged, 401, "use_dpop_nonce")
        assert _challenge(challenged, "use_dpop_nonce").startswith("DPoP ")
        nonce = challenged.headers["dpop-nonce"]
        proof = make_proof(KEY, "GET", url, access_token=token, nonce=nonce)
        assert call_api(stack, f"DPoP {token}", proof).status_code == 200


def _nonce_of(stack: Stack, url: str) -> str:
    return exchange(stack, make_proof(KEY, "POST", url)).headers["dpop-nonce"]


def _exchange_with(stack: Stack, nonce: str) -> str:
    response = exchange(stack, make_proof(KEY, "POST", stack.idp_token, nonce=nonce))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_required_dpop_refuses_bearer_tokens(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, required=True) as stack:
        token = dpop_token(stack, KEY)
        proof = make_proof(KEY, "GET", _url(stack), access_token=token)
        assert call_api(stack, f"DPoP {token}", proof).status_code == 200
        assert_refused(call_api(stack, f"Bearer {token}"), 401, "invalid_token")
