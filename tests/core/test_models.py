"""Models: metadata rules (draft §7), request serialisation, claim helpers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from xaa import (
    Actor,
    AuthorizationServerMetadata,
    IdJagClaims,
    ProtectedResourceMetadata,
    TokenExchangeRequest,
    TokenExchangeResponse,
    TokenResponse,
    encode_form,
    parse_form,
    spec,
)


def test_id_jag_profile_requires_jwt_bearer() -> None:
    with pytest.raises(ValidationError, match="jwt-bearer"):
        AuthorizationServerMetadata(
            issuer="https://as", authorization_grant_profiles_supported=[spec.GRANT_PROFILE_ID_JAG]
        )
    meta = AuthorizationServerMetadata(
        issuer="https://as",
        grant_types_supported=[spec.GRANT_JWT_BEARER],
        authorization_grant_profiles_supported=[spec.GRANT_PROFILE_ID_JAG],
    )
    assert meta.accepts_id_jag and not meta.issues_id_jag
    assert "token_endpoint" not in meta.to_json()


def test_idp_metadata_advertises_id_jag() -> None:
    meta = AuthorizationServerMetadata(
        issuer="https://idp",
        identity_chaining_requested_token_types_supported=[spec.TOKEN_TYPE_ID_JAG],
        extra_member="kept",
    )
    assert meta.issues_id_jag and meta.to_json()["extra_member"] == "kept"


def test_metadata_types_are_strict() -> None:
    with pytest.raises(ValidationError):
        AuthorizationServerMetadata.model_validate({"issuer": "x", "grant_types_supported": "jwt"})


def test_token_exchange_request_to_form() -> None:
    request = TokenExchangeRequest(
        audience="https://as",
        subject_token="t",
        subject_token_type=spec.TOKEN_TYPE_ID_TOKEN,
        resource=["https://as/api", "https://as/files"],
        scope="chat.read",
        authorization_details=[{"type": "chat_read", "actions": ["read"]}],
    )
    form = parse_form(encode_form(request.to_form()))
    assert form["grant_type"] == spec.GRANT_TOKEN_EXCHANGE
    assert form["requested_token_type"] == spec.TOKEN_TYPE_ID_JAG
    assert form.all("resource") == ["https://as/api", "https://as/files"]
    assert form["authorization_details"] == '[{"type":"chat_read","actions":["read"]}]'
    assert "actor_token" not in form


def test_actor_token_needs_its_type() -> None:
    with pytest.raises(ValidationError, match="actor_token"):
        TokenExchangeRequest(
            audience="a", subject_token="t", subject_token_type="x", actor_token="a.b.c"
        )


def test_responses_drop_absent_members() -> None:
    response = TokenExchangeResponse(
        access_token="j", issued_token_type=spec.TOKEN_TYPE_ID_JAG, token_type="N_A", expires_in=300
    )
    assert response.to_json() == {
        "access_token": "j",
        "issued_token_type": spec.TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
        "expires_in": 300,
    }
    assert TokenResponse(access_token="a", token_type="Bearer").to_json() == {
        "access_token": "a",
        "token_type": "Bearer",
    }


def test_protected_resource_metadata() -> None:
    prm = ProtectedResourceMetadata(resource="https://rs/api", authorization_servers=["https://as"])
    assert prm.to_json() == {"resource": "https://rs/api", "authorization_servers": ["https://as"]}


def test_claim_helpers() -> None:
    claims = IdJagClaims.new(
        issuer="i", subject="s", audience="a", client_id="c", resource="https://r", now=100
    )
    assert claims.resources == ["https://r"] and claims.scopes == frozenset()
    assert claims.exp - claims.iat == 300 and len(claims.jti) >= 16
    many = claims.model_copy(update={"resource": ["https://a", "https://b"]})
    assert many.resources == ["https://a", "https://b"]
    assert IdJagClaims.new(issuer="i", subject="s", audience="a", client_id="c").resources == []


def test_actor_chain_outermost_first() -> None:
    actor = Actor.model_validate({"sub": "agent-b", "act": {"sub": "agent-a"}})
    assert actor.chain() == ["agent-b", "agent-a"]


def test_claims_are_frozen() -> None:
    claims = IdJagClaims.new(issuer="i", subject="s", audience="a", client_id="c")
    with pytest.raises(ValidationError):
        claims.sub = "mallory"  # type: ignore[misc]
