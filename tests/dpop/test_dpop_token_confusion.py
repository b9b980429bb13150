"""Token-type confusion (RFC 8725 §3.11): a DPoP proof is no other token, and no other token
is a DPoP proof, even when signed by a key the verifier trusts."""

from __future__ import annotations

import pytest

from tests.dpop.dpop_support import HTM, HTU, NOW, rejected
from xaa import (
    AccessTokenClaims,
    IdJagClaims,
    InvalidGrant,
    JwkSet,
    OAuthError,
    SigningKey,
    issue_access_token,
    issue_id_jag,
    verify_access_token,
    verify_id_jag,
    verify_id_token,
)
from xaa.dpop import DpopKey, make_proof

IDP_KEY = SigningKey.generate("ES256", kid="idp-1")
KEYS = JwkSet([IDP_KEY.verification_key()])
DPOP_WITH_IDP_KEY = DpopKey(IDP_KEY)


def test_dpop_proof_is_not_an_id_token() -> None:
    proof = make_proof(DPOP_WITH_IDP_KEY, HTM, HTU, now=NOW)
    with pytest.raises(OAuthError) as info:
        verify_id_token(proof, keys=KEYS, issuer="https://idp.example", client_id="c", now=NOW)
    assert info.value.error == "invalid_request"


def test_dpop_proof_is_not_an_id_jag() -> None:
    proof = make_proof(DPOP_WITH_IDP_KEY, HTM, HTU, now=NOW)
    with pytest.raises(InvalidGrant):
        verify_id_jag(
            proof, keys=KEYS, issuer="https://idp.example", audience=HTU, client_id="c", now=NOW
        )


def test_dpop_proof_is_not_an_access_token() -> None:
    proof = make_proof(DPOP_WITH_IDP_KEY, HTM, HTU, now=NOW)
    with pytest.raises(OAuthError) as info:
        verify_access_token(proof, keys=KEYS, issuer="https://idp.example", resource=HTU, now=NOW)
    assert info.value.error == "invalid_token"


def test_id_jag_is_not_a_dpop_proof() -> None:
    claims = IdJagClaims.new(
        issuer="https://idp.example",
        subject="u",
        audience="https://as.example",
        client_id="c",
        now=NOW,
        htm=HTM,
        htu=HTU,
    )
    assert rejected(issue_id_jag(claims, IDP_KEY)).detail == "typ is not dpop+jwt"


def test_access_token_is_not_a_dpop_proof() -> None:
    claims = AccessTokenClaims.model_validate(
        {
            "iss": "https://as.example",
            "sub": "u",
            "aud": HTU,
            "client_id": "c",
            "jti": "j",
            "iat": NOW,
            "exp": NOW + 60,
            "htm": HTM,
            "htu": HTU,
        }
    )
    assert rejected(issue_access_token(claims, IDP_KEY)).detail == "typ is not dpop+jwt"
