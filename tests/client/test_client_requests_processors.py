"""docs/security.md, the client: every check of the sans-I/O builders and processors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.client.client_support import AS, AS_CLIENT, IDP, IDP_KEY, NOW, id_jag
from xaa import (
    ConfigurationError,
    HttpResponse,
    InvalidGrant,
    InvalidRequest,
    JwkSet,
    ProtocolViolation,
    RegisteredClient,
    RemoteOAuthError,
    SigningKey,
    authenticate_client,
    parse_form,
    spec,
)
from xaa.client import (
    ClientCredentials,
    PolicyDenied,
    StepUpRequired,
    jwt_bearer_request,
    process_token_exchange_response,
    process_token_response,
    token_exchange_request,
)
from xaa.stores import MemoryReplayStore


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, raw)


def exchange_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": id_jag(NOW),
        "issued_token_type": spec.TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
        "expires_in": 300,
        "scope": "chat.read",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def process(body: Any, status: int = 200, **options: Any) -> Any:
    return process_token_exchange_response(
        response(status, body),
        idp_issuer=IDP,
        audience=AS,
        client_id=AS_CLIENT,
        requested_scope=frozenset({"chat.read"}),
        now=NOW,
        **options,
    )


def rule_of(body: Any, status: int = 200, **options: Any) -> str:
    with pytest.raises(ProtocolViolation) as caught:
        process(body, status, **options)
    assert id_jag(NOW)[:20] not in str(caught.value)  # never echoes token bytes
    return caught.value.rule


def test_happy_path_token_exchange_response() -> None:
    jag = process(exchange_body())
    assert jag.claims.aud == AS and jag.claims.client_id == AS_CLIENT
    assert jag.scope == frozenset({"chat.read"})
    assert "eyJ" not in repr(jag)


def test_happy_path_with_verified_signature_and_one_element_audience() -> None:
    body = exchange_body(access_token=id_jag(NOW, aud=[AS]))
    jag = process(body, idp_keys=JwkSet([IDP_KEY.verification_key()]))
    assert jag.claims.aud == [AS]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"issued_token_type": spec.TOKEN_TYPE_ACCESS_TOKEN}, "issued-token-type"),
        ({"issued_token_type": None}, "issued-token-type"),
        ({"token_type": "Bearer"}, "token-type"),
        ({"token_type": "n_a"}, "token-type"),
        ({"token_type": None}, "token-type"),
        ({"access_token": None}, "access-token"),
        ({"access_token": ""}, "access-token"),
        ({"error": "invalid_grant"}, "error-in-success"),
        ({"scope": "chat.read chat.write"}, "id-jag-scope"),
    ],
)
def test_token_exchange_response_defects(changes: dict[str, Any], rule: str) -> None:
    assert rule_of(exchange_body(**changes)) == rule


@pytest.mark.parametrize(
    ("header", "claims", "rule"),
    [
        ({"typ": "JWT"}, {}, "id-jag-typ"),
        ({"typ": "at+jwt"}, {}, "id-jag-typ"),
        ({"typ": None}, {}, "id-jag-typ"),
        ({}, {"aud": "https://other-as.example"}, "id-jag-aud"),
        ({}, {"aud": [AS, "https://other-as.example"]}, "id-jag-aud"),
        ({}, {"aud": AS + "/token"}, "id-jag-aud"),
        ({}, {"client_id": "someone-else"}, "id-jag-client-id"),
        ({}, {"iss": "https://evil.example"}, "id-jag-iss"),
        ({}, {"exp": int(NOW) - 1}, "id-jag-expired"),
        ({}, {"jti": None}, "id-jag-claims"),
    ],
)
def test_id_jag_defects_are_caught_before_redeeming(
    header: dict[str, Any], claims: dict[str, Any], rule: str
) -> None:
    head = {k: v for k, v in {"typ": "oauth-id-jag+jwt", **header}.items() if v is not None}
    token = id_jag(NOW, header=head, **claims)
    if header.get("typ", 1) is None:
        token = _drop_typ(token)
    assert rule_of(exchange_body(access_token=token)) == rule


def _drop_typ(token: str) -> str:
    from tests.client.client_support import id_jag_claims, jwt

    return jwt({"alg": "ES256", "kid": "idp-1"}, id_jag_claims(NOW))


def test_malformed_id_jag() -> None:
    assert rule_of(exchange_body(access_token="not-a-jwt")) == "id-jag-malformed"


def test_signature_by_another_key_fails_when_idp_keys_known() -> None:
    other = JwkSet([SigningKey.generate("ES256", kid="idp-1").verification_key()])
    assert rule_of(exchange_body(), idp_keys=other) == "id-jag-signature"


def test_dpop_downgrade_detected() -> None:
    assert rule_of(exchange_body(), dpop_jkt="thumb") == "dpop-downgrade"
    body = exchange_body(access_token=id_jag(NOW, cnf={"jkt": "thumb"}))
    assert process(body, dpop_jkt="thumb").claims.cnf.jkt == "thumb"


def test_error_bodies_map_to_typed_errors() -> None:
    with pytest.raises(InvalidGrant):
        process({"error": "invalid_grant"}, 400)
    with pytest.raises(InvalidRequest):
        process({"error": "invalid_request"}, 400)
    with pytest.raises(RemoteOAuthError) as remote:
        process({"error": "custom_error"}, 400)
    assert remote.value.error == "custom_error"
    with pytest.raises(StepUpRequired) as step:
        process(
            {"error": "insufficient_user_authentication", "max_age": 5, "acr_values": "mfa"}, 400
        )
    assert (step.value.max_age, step.value.acr_values) == (5, "mfa")
    for code in ("access_denied", "invalid_target", "invalid_scope", "unauthorized_client"):
        with pytest.raises(PolicyDenied) as denied:
            process({"error": code}, 400)
        assert denied.value.error == code


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        (400, {"error_description": "no code"}, "error-response"),
        (500, b"<html>oops</html>", "error-response"),
        (200, b"[1, 2]", "error-response"),
        (200, b'{"access_token": "a", "access_token": "b"}', "error-response"),
        (302, {}, "no-redirects"),
        (307, {}, "no-redirects"),
    ],
)
def test_non_json_and_redirect_responses(status: int, body: Any, rule: str) -> None:
    assert rule_of(body, status) == rule


def test_token_exchange_request_form() -> None:
    request = token_exchange_request(
        IDP + "/token",
        ClientCredentials.secret_basic("agent", "s3cret"),
        idp_issuer=IDP,
        audience=AS,
        subject_token="id.token.here",
        resource=["https://api.example/api"],
        scope=frozenset({"b", "a"}),
        actor_token="actor.jwt",
        actor_token_type=spec.TOKEN_TYPE_JWT,
        now=NOW,
    )
    form = dict(parse_qsl(request.body.decode()))
    assert form == {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
        "audience": AS,
        "subject_token": "id.token.here",
        "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
        "resource": "https://api.example/api",
        "scope": "a b",
        "actor_token": "actor.jwt",
        "actor_token_type": spec.TOKEN_TYPE_JWT,
        "client_id": "agent",  # next to Basic (RFC 6749 §3.2.1), docs/client.md
    }
    assert request.headers["authorization"].startswith("Basic ")
    assert "s3cret" not in repr(request) and "id.token" not in repr(request)


@pytest.mark.parametrize("method", ["basic", "post", "jwt"])
def test_client_authentication_is_accepted_by_the_server_side(method: str) -> None:
    key = SigningKey.generate("ES256", kid="agent-1")
    credentials, registered = {
        "basic": (
            ClientCredentials.secret_basic("agent", "p@ss:w/rd"),
            RegisteredClient.with_secret("agent", "p@ss:w/rd"),
        ),
        "post": (
            ClientCredentials.secret_post("agent", "pw"),
            RegisteredClient.with_secret("agent", "pw", spec.AUTH_CLIENT_SECRET_POST),
        ),
        "jwt": (
            ClientCredentials.private_key_jwt("agent", key),
            RegisteredClient.with_jwks("agent", {"keys": [key.public_jwk()]}),
        ),
    }[method]
    request = token_exchange_request(
        IDP + "/token", credentials, idp_issuer=IDP, audience=AS, subject_token="t", now=NOW
    )
    form = parse_form(request.body)
    done = authenticate_client(
        request.headers,
        form,
        clients=type("S", (), {"get_client": staticmethod(lambda cid: registered)})(),
        issuer=IDP,
        replay=MemoryReplayStore(),
        now=NOW,
    )
    assert done.client_id == "agent" and done.method == credentials.method


def test_private_key_jwt_assertion_shape() -> None:
    from xaa import parse_compact

    key = SigningKey.generate("ES256", kid="agent-1")
    credentials = ClientCredentials.private_key_jwt("agent", key)
    jtis = set()
    for _ in range(3):
        request = token_exchange_request(
            IDP + "/token", credentials, idp_issuer=IDP, audience=AS, subject_token="t", now=NOW
        )
        jws = parse_compact(parse_form(request.body)["client_assertion"], error=InvalidRequest)
        assert jws.header["typ"] == spec.TYP_CLIENT_ASSERTION
        assert jws.payload["aud"] == IDP  # the issuer, a single string
        assert jws.payload["exp"] - jws.payload["iat"] <= 60
        jtis.add(jws.payload["jti"])
    assert len(jtis) == 3


def test_jwt_bearer_request_refuses_an_id_jag_for_another_target() -> None:
    jag = process(exchange_body())
    credentials = ClientCredentials.secret_basic(AS_CLIENT, "x")
    request = jwt_bearer_request(
        AS + "/token", credentials, as_issuer=AS, assertion=jag, resource="r", now=NOW
    )
    assert parse_form(request.body)["assertion"] == jag.token
    with pytest.raises(ProtocolViolation) as caught:
        jwt_bearer_request(
            "https://as2.example/token",
            credentials,
            as_issuer="https://as2.example",
            assertion=jag,
            now=NOW,
        )
    assert caught.value.rule == "id-jag-aud"
    with pytest.raises(ProtocolViolation) as other:
        jwt_bearer_request(
            AS + "/token",
            ClientCredentials.secret_basic("other", "x"),
            as_issuer=AS,
            assertion=jag,
            now=NOW,
        )
    assert other.value.rule == "id-jag-client-id"


def token_response(body: Any, status: int = 200, **options: Any) -> Any:
    return process_token_response(
        response(status, body),
        as_issuer=AS,
        resource="https://api.example/api",
        requested_scope=frozenset({"chat.read"}),
        now=NOW,
        **options,
    )


def test_token_response_happy_path_and_defaults() -> None:
    token = token_response({"access_token": "at", "token_type": "bearer", "expires_in": 100})
    assert token.scopes == frozenset({"chat.read"})  # absent scope = requested (RFC 6749 §5.1)
    assert token.expires_at == NOW + 100 and token.authorization() == "Bearer at"
    narrowed = token_response({"access_token": "at", "token_type": "Bearer", "scope": ""})
    assert narrowed.scopes == frozenset()


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"token_type": "Bearer"}, "access-token"),
        ({"access_token": "at", "token_type": "N_A"}, "token-type"),
        ({"access_token": "at", "token_type": "DPoP"}, "token-type"),
        ({"access_token": "at", "token_type": "Bearer", "expires_in": 0}, "expires-in"),
        ({"access_token": "at", "token_type": "Bearer", "expires_in": "60"}, "token-response"),
        ({"access_token": "at", "token_type": "Bearer", "error": "x"}, "error-in-success"),
        ({"access_token": "at", "token_type": "Bearer", "scope": 5}, "token-response"),
    ],
)
def test_token_response_defects(body: dict[str, Any], rule: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        token_response(body)
    assert caught.value.rule == rule


def test_token_response_dpop_expected() -> None:
    token = token_response({"access_token": "at", "token_type": "DPoP"}, dpop=True)
    assert token.authorization() == "DPoP at"
    with pytest.raises(ProtocolViolation):
        token_response({"access_token": "at", "token_type": "Bearer"}, dpop=True)


def test_token_response_error_is_typed() -> None:
    with pytest.raises(InvalidGrant):
        token_response({"error": "invalid_grant"}, 400)
    with pytest.raises(PolicyDenied):
        token_response({"error": "invalid_scope"}, 400)


def test_credentials_refuse_incomplete_or_public_setups() -> None:
    with pytest.raises(ConfigurationError):
        ClientCredentials("agent", spec.AUTH_NONE)
    with pytest.raises(ConfigurationError):
        ClientCredentials("agent", spec.AUTH_PRIVATE_KEY_JWT)
    with pytest.raises(ConfigurationError):
        ClientCredentials("agent", spec.AUTH_CLIENT_SECRET_BASIC, secret="")
    assert "pw" not in repr(ClientCredentials.secret_post("agent", "pw"))
