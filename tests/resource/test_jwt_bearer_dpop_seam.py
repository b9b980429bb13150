"""Draft §8.6.1.2: the four DPoP cases through the DpopProofVerifier seam (a test double)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.resource.resource_kit import (
    NOW,
    RESOURCE,
    SCOPES,
    TOKEN_URL,
    assert_rejected,
    body,
    make_kit,
)
from xaa import InvalidDpopProof, spec
from xaa.resource import ServedResource


class FakeProofs:
    """Accepts proofs named "good-<jkt>"; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []

    def verify(self, proof: str, *, method: str, url: str, now: float) -> str:
        self.calls.append((method, url, now))
        if not proof.startswith("good-"):
            raise InvalidDpopProof(detail="bad proof")
        return proof.removeprefix("good-")


def test_case1_cnf_and_matching_proof_binds_the_token() -> None:
    proofs = FakeProofs()
    kit = make_kit(dpop=proofs)
    data = body(kit.post(kit.jag(cnf={"jkt": "K"}), headers={"dpop": "good-K"}))
    assert data["token_type"] == "DPoP"
    assert proofs.calls == [("POST", TOKEN_URL, NOW)]


def test_case1_thumbprint_mismatch_is_invalid_grant() -> None:
    kit = make_kit(dpop=FakeProofs())
    response = kit.post(kit.jag(cnf={"jkt": "K"}), headers={"dpop": "good-OTHER"})
    assert_rejected(response, 400, "invalid_grant")


def test_case2_cnf_without_proof_is_invalid_grant() -> None:
    kit = make_kit(dpop=FakeProofs())
    assert_rejected(kit.post(kit.jag(cnf={"jkt": "K"})), 400, "invalid_grant")


def test_case3_proof_without_cnf_binds_to_the_proof_key() -> None:
    kit = make_kit(dpop=FakeProofs())
    assert body(kit.post(kit.jag(), headers={"dpop": "good-Z"}))["token_type"] == "DPoP"
    assert_rejected(kit.post(kit.jag(jti="x"), headers={"dpop": "bad"}), 400, "invalid_dpop_proof")


def test_case4_no_cnf_no_proof() -> None:
    assert body(make_kit(dpop=FakeProofs()).post(make_kit().jag()))
    required = make_kit(dpop=FakeProofs(), require_dpop=True)
    assert_rejected(required.post(required.jag()), 400, "invalid_grant")


def test_require_dpop_needs_a_verifier() -> None:
    with pytest.raises(ValueError):
        make_kit(require_dpop=True)


def test_jwt_dpop_grant_needs_a_proof_and_binds() -> None:
    kit = make_kit(dpop=FakeProofs())
    form = {"grant_type": spec.GRANT_JWT_DPOP}
    data = body(kit.post(kit.jag(), form=form, headers={"dpop": "good-Z"}))
    assert data["token_type"] == "DPoP"
    assert_rejected(kit.post(kit.jag(jti="y"), form=form), 400, "invalid_request")


def test_jwt_dpop_grant_without_a_verifier_is_unsupported() -> None:
    kit = make_kit()
    response = kit.post(kit.jag(), form={"grant_type": spec.GRANT_JWT_DPOP}, headers={"dpop": "p"})
    assert_rejected(response, 400, "unsupported_grant_type")


def test_resource_that_requires_dpop_refuses_bearer_tokens() -> None:
    kit = make_kit(dpop=FakeProofs())
    strict = replace(kit.endpoint, resources=[ServedResource(RESOURCE, SCOPES, True)])
    headers, form = kit.request(kit.jag())
    assert_rejected(strict.handle(headers, form, now=NOW), 400, "invalid_grant")
    headers, form = kit.request(kit.jag(jti="z"), headers={"dpop": "good-Z"})
    assert body(strict.handle(headers, form, now=NOW))["token_type"] == "DPoP"
    with pytest.raises(ValueError):
        replace(make_kit().endpoint, resources=[ServedResource(RESOURCE, SCOPES, True)])
