"""The DPoP cases at the IdP's token exchange (draft §8.6.1.1), over loopback.

Each defect is the valid proof with exactly one change, re-signed with the right key;
the IdP answers 400 ``invalid_dpop_proof`` with ``no-store`` and issues no ID-JAG.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.dpop_e2e.dpop_e2e_support import (
    DROP,
    Stack,
    assert_refused,
    claims,
    dpop_stack,
    exchange,
    forge_proof,
)
from xaa.dpop import DpopKey, make_proof

pytestmark = pytest.mark.e2e

KEY = DpopKey.generate()
OTHER = DpopKey.generate()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with dpop_stack(tmp_path_factory.mktemp("idp-hop")) as running:
        yield running


def test_valid_proof_binds_the_id_jag(stack: Stack) -> None:
    response = exchange(stack, make_proof(KEY, "POST", stack.idp_token))
    assert response.status_code == 200
    assert claims(response.json()["access_token"])["cnf"] == {"jkt": KEY.jkt}
    assert "cnf" not in claims(exchange(stack).json()["access_token"])  # no proof, no cnf


Defect = Callable[[Stack], Any]
DEFECTS: dict[str, Defect] = {
    "htm-get": lambda s: forge_proof(KEY, "GET", s.idp_token),
    "htm-lowercase": lambda s: forge_proof(KEY, "post", s.idp_token),
    "htu-other-path": lambda s: forge_proof(KEY, "POST", s.idp + "/userinfo"),
    "htu-trailing-slash": lambda s: forge_proof(KEY, "POST", s.idp_token + "/"),
    "htu-dot-segment": lambda s: forge_proof(KEY, "POST", s.idp + "/./token"),
    "htu-percent-encoded": lambda s: forge_proof(KEY, "POST", s.idp + "/%74oken"),
    "htu-other-host": lambda s: forge_proof(KEY, "POST", "http://evil.example/token"),
    "htu-the-as": lambda s: forge_proof(KEY, "POST", s.as_token),
    "iat-too-old": lambda s: forge_proof(
        KEY, "POST", s.idp_token, payload={"iat": int(time.time()) - 120}
    ),
    "iat-future": lambda s: forge_proof(
        KEY, "POST", s.idp_token, payload={"iat": int(time.time()) + 60}
    ),
    "iat-string": lambda s: forge_proof(
        KEY, "POST", s.idp_token, payload={"iat": str(int(time.time()))}
    ),
    "jti-missing": lambda s: forge_proof(KEY, "POST", s.idp_token, payload={"jti": DROP}),
    "typ-jwt": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"typ": "JWT"}),
    "typ-missing": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"typ": DROP}),
    "alg-none": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"alg": "none"}),
    "alg-hs256": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"alg": "HS256"}),
    "jwk-missing": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"jwk": DROP}),
    "jwk-private": lambda s: forge_proof(
        KEY, "POST", s.idp_token, header={"jwk": {**KEY.public_jwk(), "d": "AAAA"}}
    ),
    "signed-by-another-key": lambda s: forge_proof(KEY, "POST", s.idp_token, sign_with=OTHER),
    "jwk-of-another-key": lambda s: forge_proof(
        KEY, "POST", s.idp_token, header={"jwk": OTHER.public_jwk()}
    ),
    "crit-header": lambda s: forge_proof(KEY, "POST", s.idp_token, header={"crit": ["x"]}),
    "not-a-jws": lambda s: "not-a-proof",
    "two-dpop-headers": lambda s: [
        make_proof(KEY, "POST", s.idp_token),
        make_proof(KEY, "POST", s.idp_token),
    ],
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_proof_defect_is_invalid_dpop_proof(stack: Stack, name: str) -> None:
    proof = DEFECTS[name](stack)
    response = exchange(stack, proof)
    assert_refused(response, 400, "invalid_dpop_proof")
    assert all(p not in response.text for p in ([proof] if isinstance(proof, str) else proof))


def test_replayed_proof_is_refused(stack: Stack) -> None:
    proof = make_proof(KEY, "POST", stack.idp_token)
    assert exchange(stack, proof).status_code == 200
    assert_refused(exchange(stack, proof), 400, "invalid_dpop_proof")


@pytest.mark.parametrize(
    "htu",
    [
        "HTTP://127.0.0.1:{port}/token",  # scheme and host case
        "http://127.0.0.1:{port}/token?query=dropped",
        "http://127.0.0.1:{port}/token#fragment",
    ],
)
def test_htu_normalisation_accepts_equivalent_uris(stack: Stack, htu: str) -> None:
    port = stack.idp.rsplit(":", 1)[1]
    response = exchange(stack, forge_proof(KEY, "POST", htu.format(port=port)))
    assert response.status_code == 200, response.text


def test_thumbprint_from_required_members_only(stack: Stack) -> None:
    """Extra jwk members (kid, use, alg) do not change the key's jkt (RFC 7638 §3.2)."""
    jwk = {**KEY.public_jwk(), "kid": "k1", "use": "sig", "alg": "ES256"}
    response = exchange(stack, forge_proof(KEY, "POST", stack.idp_token, header={"jwk": jwk}))
    assert response.status_code == 200, response.text
    assert claims(response.json()["access_token"])["cnf"] == {"jkt": KEY.jkt}


def test_nonce_challenge_then_success(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, nonces=True) as stack:
        challenged = exchange(stack, make_proof(KEY, "POST", stack.idp_token))
        assert_refused(challenged, 400, "use_dpop_nonce")
        nonce = challenged.headers["dpop-nonce"]
        stale = make_proof(KEY, "POST", stack.idp_token, nonce="bm90LWEtbm9uY2U")
        assert_refused(exchange(stack, stale), 400, "use_dpop_nonce")
        response = exchange(stack, make_proof(KEY, "POST", stack.idp_token, nonce=nonce))
        assert response.status_code == 200, response.text
        assert claims(response.json()["access_token"])["cnf"] == {"jkt": KEY.jkt}


def test_idp_without_dpop_refuses_the_header(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, idp_dpop=False) as stack:
        proof = make_proof(KEY, "POST", stack.idp_token)
        assert_refused(exchange(stack, proof), 400, "invalid_dpop_proof")


def test_a_dpop_proof_as_subject_token_is_refused(stack: Stack) -> None:
    """Token-type confusion (RFC 8725 §3.11): a proof labelled ``id_token``."""
    proof = make_proof(KEY, "POST", stack.idp_token)
    confused = replace(stack, id_token=proof)
    response = exchange(confused, make_proof(KEY, "POST", stack.idp_token))
    assert_refused(response, 400, "invalid_request")
    assert proof not in response.text
