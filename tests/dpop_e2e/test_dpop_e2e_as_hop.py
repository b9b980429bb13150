"""Draft §8.6.1.2 at the chat AS over loopback: the four cases, the jwt-dpop grant, proof
defects, replay and nonces. ID-JAGs come from the reference IdP, bound or not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dpop_e2e.dpop_e2e_support import (
    Stack,
    assert_refused,
    claims,
    dpop_stack,
    exchange,
    forge_proof,
    id_jag,
    redeem,
)
from xaa import spec
from xaa.dpop import DpopKey, make_proof

pytestmark = pytest.mark.e2e

KEY = DpopKey.generate()
OTHER = DpopKey.generate()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with dpop_stack(tmp_path_factory.mktemp("as-hop")) as running:
        yield running


def _proof(stack: Stack, key: DpopKey = KEY) -> str:
    return make_proof(key, "POST", stack.as_token)


def test_case1_cnf_and_matching_proof_binds_the_access_token(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack, KEY), _proof(stack))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims(body["access_token"])["cnf"] == {"jkt": KEY.jkt}
    assert "refresh_token" not in body


def test_case1_proof_by_another_key_is_invalid_grant(stack: Stack) -> None:
    assert_refused(redeem(stack, id_jag(stack, KEY), _proof(stack, OTHER)), 400, "invalid_grant")


def test_case2_cnf_without_proof_is_invalid_grant(stack: Stack) -> None:
    assert_refused(redeem(stack, id_jag(stack, KEY)), 400, "invalid_grant")


def test_case3_proof_without_cnf_binds_to_the_proof_key(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack), _proof(stack, OTHER))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    assert claims(response.json()["access_token"])["cnf"] == {"jkt": OTHER.jkt}


def test_case4_neither_is_a_bearer_token(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in claims(response.json()["access_token"])


def test_case4_refused_when_the_resource_requires_constrained_tokens(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, required=True) as stack:
        assert_refused(redeem(stack, id_jag(stack)), 400, "invalid_grant")
        assert redeem(stack, id_jag(stack), _proof(stack)).json()["token_type"] == "DPoP"


def test_jwt_dpop_grant_with_a_bound_id_jag(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack, KEY), _proof(stack), grant_type=spec.GRANT_JWT_DPOP)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"


def test_jwt_dpop_grant_without_a_proof_is_invalid_request(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack), grant_type=spec.GRANT_JWT_DPOP)
    assert_refused(response, 400, "invalid_request")


def test_jwt_dpop_grant_with_an_unbound_id_jag_binds_to_the_proof(stack: Stack) -> None:
    response = redeem(stack, id_jag(stack), _proof(stack), grant_type=spec.GRANT_JWT_DPOP)
    assert response.status_code == 200, response.text
    assert claims(response.json()["access_token"])["cnf"] == {"jkt": KEY.jkt}


@pytest.mark.parametrize(
    "name",
    ["htu-the-idp", "htm-get", "iat-too-old", "iat-future", "typ-jwt", "other-signer", "two"],
)
def test_proof_defect_is_invalid_dpop_proof_and_the_id_jag_survives(
    stack: Stack, name: str
) -> None:
    now = int(time.time())
    proofs: dict[str, str | list[str]] = {
        "htu-the-idp": forge_proof(KEY, "POST", stack.idp_token),
        "htm-get": forge_proof(KEY, "GET", stack.as_token),
        "iat-too-old": forge_proof(KEY, "POST", stack.as_token, payload={"iat": now - 120}),
        "iat-future": forge_proof(KEY, "POST", stack.as_token, payload={"iat": now + 60}),
        "typ-jwt": forge_proof(KEY, "POST", stack.as_token, header={"typ": "JWT"}),
        "other-signer": forge_proof(KEY, "POST", stack.as_token, sign_with=OTHER),
        "two": [_proof(stack), _proof(stack)],
    }
    jag = id_jag(stack, KEY)
    assert_refused(redeem(stack, jag, proofs[name]), 400, "invalid_dpop_proof")
    assert redeem(stack, jag, _proof(stack)).status_code == 200  # not burnt by the bad proof


def test_proof_from_the_idp_hop_is_not_accepted_at_the_as(stack: Stack) -> None:
    """A proof captured at the IdP names the IdP's token endpoint (htu)."""
    idp_proof = make_proof(KEY, "POST", stack.idp_token)
    assert_refused(redeem(stack, id_jag(stack, KEY), idp_proof), 400, "invalid_dpop_proof")


def test_replayed_proof_is_refused(stack: Stack) -> None:
    proof = _proof(stack)
    assert redeem(stack, id_jag(stack, KEY), proof).status_code == 200
    assert_refused(redeem(stack, id_jag(stack, KEY), proof), 400, "invalid_dpop_proof")


def test_nonce_challenge_does_not_burn_the_id_jag(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, nonces=True) as stack:
        jag_response = _bound_jag_with_nonce(stack)
        challenged = redeem(stack, jag_response, _proof(stack))
        assert_refused(challenged, 400, "use_dpop_nonce")
        nonce = challenged.headers["dpop-nonce"]
        proof = make_proof(KEY, "POST", stack.as_token, nonce=nonce)
        response = redeem(stack, jag_response, proof)
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "DPoP"


def _bound_jag_with_nonce(stack: Stack) -> str:
    nonce = exchange(stack, make_proof(KEY, "POST", stack.idp_token)).headers["dpop-nonce"]
    response = exchange(stack, make_proof(KEY, "POST", stack.idp_token, nonce=nonce))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_jwt_dpop_grant_without_a_proof_is_invalid_request_for_a_bound_id_jag(
    stack: Stack,
) -> None:
    jag = id_jag(stack, KEY)
    assert_refused(redeem(stack, jag, grant_type=spec.GRANT_JWT_DPOP), 400, "invalid_request")
    assert redeem(stack, jag, _proof(stack)).status_code == 200  # the ID-JAG was not burnt
