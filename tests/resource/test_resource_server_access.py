"""RFC 6750, RFC 9068: the resource server's access token check, and RFC 8414/9728 metadata."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.resource.resource_kit import AS, NOW, RESOURCE, body, compact, make_kit
from xaa import AccessTokenClaims, JwkSet, OAuthError, SigningKey, issue_access_token, spec
from xaa.resource import (
    ResourceServer,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)

META = "https://chat.example/.well-known/oauth-protected-resource/api"
KEY = SigningKey.generate("ES256", kid="as-1")
RS = ResourceServer(RESOURCE, AS, JwkSet([KEY.verification_key()]), META)


def claims(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iss": AS,
        "sub": "u-1",
        "aud": RESOURCE,
        "client_id": "wiki-at-chat",
        "jti": "at-1",
        "iat": NOW - 10,
        "exp": NOW + 600,
        "scope": "chat.read",
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def token(header: dict[str, Any] | None = None, key: SigningKey = KEY, **changes: Any) -> str:
    return compact(
        {"typ": "at+jwt", "alg": "ES256", "kid": key.kid, **(header or {})}, claims(**changes), key
    )


def check(
    auth: str | None, scopes: tuple[str, ...] = ("chat.read",), query: tuple[str, ...] = ()
) -> AccessTokenClaims:
    headers = {"authorization": auth} if auth is not None else {}
    return RS.authorize(headers, query, scopes, now=NOW)


def rejected(auth: str | None, **kwargs: Any) -> OAuthError:
    with pytest.raises(OAuthError) as info:
        check(auth, **kwargs)
    return info.value


def test_valid_token_passes() -> None:
    assert check("Bearer " + token()).sub == "u-1"
    assert check("bearer " + token(aud=[RESOURCE, "https://x.example"])).sub == "u-1"


def test_no_token_is_401_with_resource_metadata_and_no_error_code() -> None:
    exc = rejected(None)
    assert exc.status == 401
    assert exc.headers["www-authenticate"] == f'Bearer resource_metadata="{META}"'
    assert exc.to_response().headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "bad",
    {
        "typ-JWT": lambda: token({"typ": "JWT"}),
        "typ-id-jag": lambda: token({"typ": "oauth-id-jag+jwt"}),
        "wrong-iss": lambda: token(iss="https://evil.example"),
        "aud-not-this-resource": lambda: token(aud="https://chat.example/other"),
        "expired": lambda: token(exp=NOW - 31, iat=NOW - 100),
        "bad-signature": lambda: token()[:-4] + "AAAA",
        "unknown-key": lambda: token(key=SigningKey.generate("ES256", kid="other")),
        "right-kid-wrong-key": lambda: token(key=SigningKey.generate("ES256", kid="as-1")),
        "alg-none": lambda: compact({"typ": "at+jwt", "alg": "none"}, claims(), None),
        "cnf-bound-sent-as-bearer": lambda: token(cnf={"jkt": "abc"}),
        "not-a-jwt": lambda: "abc",
    }.items(),
    ids=lambda item: item[0],
)
def test_invalid_token_is_401(bad: Any) -> None:
    exc = rejected("Bearer " + bad[1]())
    assert (exc.status, exc.error) == (401, "invalid_token")
    challenge = exc.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert f'resource_metadata="{META}"' in challenge


def test_basic_scheme_counts_as_no_token() -> None:
    assert rejected("Basic abc").headers["www-authenticate"].startswith("Bearer resource_metadata")


def test_insufficient_scope_is_403_with_needed_scope() -> None:
    exc = rejected("Bearer " + token(), scopes=("chat.write",))
    assert (exc.status, exc.error) == (403, "insufficient_scope")
    assert 'scope="chat.write"' in exc.headers["www-authenticate"]
    assert json.loads(exc.to_response().body)["scope"] == "chat.write"


def test_any_of_scopes() -> None:
    assert RS.authorize(
        {"authorization": "Bearer " + token(scope="chat.history")},
        (),
        ("chat.read", "chat.history"),
        any_of=True,
        now=NOW,
    )
    with pytest.raises(OAuthError):
        RS.authorize(
            {"authorization": "Bearer " + token(scope="chat.write")},
            (),
            ("chat.read", "chat.history"),
            any_of=True,
            now=NOW,
        )


def test_token_sent_two_ways_is_400() -> None:
    exc = rejected("Bearer " + token(), query=("access_token",))
    assert (exc.status, exc.error) == (400, "invalid_request")


def test_token_issued_by_the_endpoint_is_accepted_by_the_resource_server() -> None:
    kit = make_kit()
    data = body(
        kit.post(
            kit.jag(
                act={"sub": "agent-7", "act": {"sub": "orchestrator"}},
                auth_time=NOW - 60,
                acr="urn:acr:mfa",
                amr=["pwd", "otp"],
                tenant="acme",
            )
        )
    )
    rs = ResourceServer(RESOURCE, AS, JwkSet([kit.as_key.verification_key()]), META)
    at = rs.authorize(
        {"authorization": "Bearer " + data["access_token"]}, (), ("chat.read",), now=NOW
    )
    payload = at.to_json()
    assert payload["idp_iss"] == "https://idp.example"
    assert payload["idp_sub"] == "U019488227"
    assert payload["act"] == {"sub": "agent-7", "act": {"sub": "orchestrator"}}
    assert payload["client_id"] == "wiki-at-chat"
    assert (payload["auth_time"], payload["acr"], payload["amr"]) == (
        NOW - 60,
        "urn:acr:mfa",
        ["pwd", "otp"],
    )
    assert payload["idp_tenant"] == "acme"
    assert payload["aud"] == RESOURCE and payload["iss"] == AS
    assert payload["exp"] - payload["iat"] == 900
    assert at.scopes == {"chat.read", "chat.history"}
    header = json.loads(
        __import__("base64").urlsafe_b64decode(data["access_token"].split(".")[0] + "==")
    )
    assert (header["typ"], header["alg"]) == ("at+jwt", "ES256")


def test_as_metadata_lists_profile_and_grant_and_no_trusted_issuers() -> None:
    meta = authorization_server_metadata(AS).to_json()
    assert meta["grant_types_supported"] == [spec.GRANT_JWT_BEARER]
    assert meta["authorization_grant_profiles_supported"] == [spec.GRANT_PROFILE_ID_JAG]
    assert meta["token_endpoint"] == AS + "/token"
    assert "authorization_endpoint" not in meta  # none served unless passed
    assert meta["jwks_uri"] == AS + "/jwks.json"
    assert "idp.example" not in json.dumps(meta)


def test_token_endpoint_only_as_advertises_no_authorization_endpoint() -> None:
    meta = authorization_server_metadata(AS).to_json()
    assert "authorization_endpoint" not in meta and meta["response_types_supported"] == []
    assert meta["token_endpoint"] == AS + "/token"


def test_profile_without_jwt_bearer_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="jwt-bearer"):
        authorization_server_metadata(
            AS, grant_types=[spec.GRANT_AUTHORIZATION_CODE], authorization_endpoint=AS + "/a"
        )


def test_protected_resource_metadata_is_path_aware() -> None:
    assert protected_resource_metadata_url(RESOURCE) == META
    assert protected_resource_metadata_url("https://chat.example") == (
        "https://chat.example/.well-known/oauth-protected-resource"
    )
    doc = protected_resource_metadata(RESOURCE, [AS], ["chat.read"]).to_json()
    assert doc["authorization_servers"] == [AS]
    assert doc["bearer_methods_supported"] == ["header"]


def test_issue_access_token_round_trip_helper() -> None:
    model = AccessTokenClaims.model_validate(claims())
    assert check("Bearer " + issue_access_token(model, KEY)).jti == "at-1"
