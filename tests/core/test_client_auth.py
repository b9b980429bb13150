"""Client authentication at a token endpoint (RFC 6749 §2.3, RFC 7523 §3, RFC 7523bis)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from xaa import (
    InvalidClient,
    RegisteredClient,
    SigningKey,
    authenticate_client,
    basic_header,
    encode_form,
    make_client_assertion,
    parse_form,
    spec,
)
from xaa._jose import sign_compact
from xaa.stores import MemoryReplayStore

ISSUER = "https://idp.example"
NOW = 1_800_000_000
AGENT_KEY = SigningKey.generate(kid="agent-1")
JWT_TYPE = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER


class Clients:
    def __init__(self) -> None:
        self.clients = {
            "wiki": RegisteredClient.with_secret("wiki", "wiki-secret"),
            "poster": RegisteredClient.with_secret(
                "poster", "p%ss w+rd", method="client_secret_post"
            ),
            "agent": RegisteredClient.with_jwks("agent", {"keys": [AGENT_KEY.public_jwk()]}),
            "frozen": RegisteredClient.with_secret("frozen", "x", active=False),
        }

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self.clients.get(client_id)


def auth(
    headers: dict[str, str],
    params: dict[str, Any],
    replay: MemoryReplayStore | None = None,
    **kw: Any,
) -> Any:
    form = parse_form(encode_form(params))
    return authenticate_client(
        headers,
        form,
        clients=Clients(),
        issuer=ISSUER,
        replay=replay or MemoryReplayStore(),
        now=NOW,
        **kw,
    )


def assertion(**changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": "agent",
        "sub": "agent",
        "aud": ISSUER,
        "jti": "a-1",
        "iat": NOW,
        "exp": NOW + 60,
    }
    for k, v in changes.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return sign_compact({"typ": "client-authentication+jwt"}, claims, AGENT_KEY)


def jwt_params(token: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_TYPE, "client_assertion": token, **extra}


def fails(
    detail: str, headers: dict[str, str], params: dict[str, Any], basic: bool = False, **kw: Any
) -> None:
    with pytest.raises(InvalidClient, match=detail) as info:
        auth(headers, params, **kw)
    response = info.value.to_response()
    assert response.status == 401 and response.headers["cache-control"] == "no-store"
    assert ("www-authenticate" in response.headers) is basic


class TestSecrets:
    def test_basic(self) -> None:
        result = auth({"authorization": basic_header("wiki", "wiki-secret")}, {})
        assert (result.client_id, result.method) == ("wiki", "client_secret_basic")

    def test_basic_wrong_secret_has_challenge(self) -> None:
        fails("wrong", {"authorization": basic_header("wiki", "nope")}, {}, basic=True)

    def test_basic_with_same_client_id_field(self) -> None:
        assert auth({"authorization": basic_header("wiki", "wiki-secret")}, {"client_id": "wiki"})

    def test_basic_with_other_client_id_field(self) -> None:
        headers = {"authorization": basic_header("wiki", "wiki-secret")}
        fails("another client", headers, {"client_id": "agent"}, basic=True)

    def test_post(self) -> None:
        result = auth({}, {"client_id": "poster", "client_secret": "p%ss w+rd"})
        assert result.method == "client_secret_post"

    def test_post_without_client_id(self) -> None:
        fails("without client_id", {}, {"client_secret": "wiki-secret"})

    def test_method_must_be_the_registered_one(self) -> None:
        fails(
            "another authentication method",
            {},
            {"client_id": "wiki", "client_secret": "wiki-secret"},
        )

    def test_unknown_client(self) -> None:
        fails("wrong", {"authorization": basic_header("ghost", "x")}, {}, basic=True)

    def test_suspended_client(self) -> None:
        fails("suspended", {"authorization": basic_header("frozen", "x")}, {}, basic=True)

    def test_lenient_basic_accepts_unencoded_credentials(self) -> None:
        raw = base64.b64encode(b"poster:p%ss w+rd").decode()
        clients = Clients()
        clients.clients["poster"] = RegisteredClient.with_secret("poster", "p%ss w+rd")
        headers = {"authorization": f"Basic {raw}"}
        form = parse_form(b"")
        with pytest.raises(InvalidClient):
            authenticate_client(
                headers, form, clients=clients, issuer=ISSUER, replay=MemoryReplayStore(), now=NOW
            )
        result = authenticate_client(
            headers,
            form,
            clients=clients,
            issuer=ISSUER,
            replay=MemoryReplayStore(),
            now=NOW,
            lenient_basic=True,
        )
        assert result.client_id == "poster"

    def test_secret_digest_only(self) -> None:
        client = RegisteredClient.with_secret("c", "hunter2")
        assert "hunter2" not in repr(client) and client.secret_matches("hunter2")
        assert not client.secret_matches("hunter")


class TestWhichMethod:
    def test_no_authentication_is_invalid_client(self) -> None:
        fails("no client authentication", {}, {})

    def test_public_client_is_invalid_client(self) -> None:
        fails("public clients", {}, {"client_id": "wiki"})

    def test_two_methods_at_once(self) -> None:
        headers = {"authorization": basic_header("wiki", "wiki-secret")}
        fails("more than one", headers, {"client_secret": "wiki-secret"}, basic=True)
        fails("more than one", headers, jwt_params(assertion()), basic=True)
        fails("more than one", {}, jwt_params(assertion(), client_id="poster", client_secret="x"))

    def test_other_scheme(self) -> None:
        fails("unsupported", {"authorization": "Bearer abc"}, {})


class TestPrivateKeyJwt:
    def test_happy_path(self) -> None:
        result = auth(
            {}, jwt_params(make_client_assertion("agent", AGENT_KEY, audience=ISSUER, now=NOW))
        )
        assert (result.client_id, result.method) == ("agent", "private_key_jwt")

    def test_jti_is_single_use(self) -> None:
        replay = MemoryReplayStore()
        token = assertion()
        assert auth({}, jwt_params(token), replay=replay)
        fails("reused", {}, jwt_params(token), replay=replay)

    @pytest.mark.parametrize(
        ("changes", "detail"),
        [
            ({"aud": "https://idp.example/token"}, "aud"),
            ({"aud": [ISSUER]}, "aud"),
            ({"aud": None}, "aud"),
            ({"iss": "wiki"}, "iss and sub"),
            ({"sub": "wiki"}, "iss and sub"),
            ({"exp": None}, "exp"),
            ({"exp": NOW - 31}, "expired"),
            ({"exp": NOW + 301}, "too far"),
            ({"iat": NOW + 31}, "iat"),
            ({"nbf": NOW + 31}, "nbf"),
            ({"iat": NOW - 400, "exp": NOW + 10}, "lifetime"),
            ({"jti": None}, "jti"),
            ({"exp": "soon"}, "exp"),
        ],
    )
    def test_one_defect(self, changes: dict[str, Any], detail: str) -> None:
        fails(detail, {}, jwt_params(assertion(**changes)))

    def test_wrong_assertion_type(self) -> None:
        fails(
            "client_assertion_type",
            {},
            {"client_assertion_type": "urn:x", "client_assertion": assertion()},
        )

    def test_client_id_field_must_match(self) -> None:
        fails("another client", {}, jwt_params(assertion(), client_id="wiki"))

    def test_key_not_registered(self) -> None:
        other = SigningKey.generate(kid="agent-1")
        claims = {"iss": "agent", "sub": "agent", "aud": ISSUER, "jti": "x", "exp": NOW + 60}
        fails("signature", {}, jwt_params(sign_compact({}, claims, other)))

    def test_alg_not_registered_for_client(self) -> None:
        rsa = SigningKey.generate("RS256", kid="agent-1")
        claims = {"iss": "agent", "sub": "agent", "aud": ISSUER, "jti": "x", "exp": NOW + 60}
        fails("alg not pinned", {}, jwt_params(sign_compact({}, claims, rsa)))

    @pytest.mark.parametrize("typ", ["oauth-id-jag+jwt", "at+jwt", "dpop+jwt"])
    def test_other_token_types_are_not_client_assertions(self, typ: str) -> None:
        claims = {"iss": "agent", "sub": "agent", "aud": ISSUER, "jti": "x", "exp": NOW + 60}
        fails("typ", {}, jwt_params(sign_compact({"typ": typ}, claims, AGENT_KEY)))

    def test_id_token_as_client_assertion(self) -> None:
        claims = {"iss": ISSUER, "sub": "alice", "aud": "agent", "exp": NOW + 60, "iat": NOW}
        fails("iss and sub", {}, jwt_params(sign_compact({"typ": "JWT"}, claims, AGENT_KEY)))

    def test_garbage_assertion(self) -> None:
        fails("compact JWS", {}, jwt_params("not-a-jwt"))


class TestRegistration:
    def test_public_methods_cannot_be_registered(self) -> None:
        with pytest.raises(ValueError):
            RegisteredClient("c", "none", secret_sha256=b"x")

    def test_private_key_jwt_needs_keys(self) -> None:
        with pytest.raises(ValueError):
            RegisteredClient("c", "private_key_jwt")

    def test_secret_methods_need_a_secret(self) -> None:
        with pytest.raises(ValueError):
            RegisteredClient("c", "client_secret_basic")


class TestSeveralMethods:
    """A client the deployer registered for more than one method (RegisteredClient.also)."""

    @staticmethod
    def clients(methods: list[str]) -> Any:
        both = RegisteredClient.with_methods(
            "both", methods, secret="both-secret", jwks={"keys": [AGENT_KEY.public_jwk()]}
        )

        class One:
            def get_client(self, client_id: str) -> RegisteredClient | None:
                return both if client_id == "both" else None

        return One()

    def run(self, methods: list[str], headers: dict[str, str], params: dict[str, Any]) -> Any:
        return authenticate_client(
            headers,
            parse_form(encode_form(params)),
            clients=self.clients(methods),
            issuer=ISSUER,
            replay=MemoryReplayStore(),
            now=NOW,
        )

    def test_every_listed_method_authenticates(self) -> None:
        methods = [spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_PRIVATE_KEY_JWT]
        basic = self.run(methods, {"authorization": basic_header("both", "both-secret")}, {})
        token = assertion(iss="both", sub="both")
        keyed = self.run(methods, {}, jwt_params(token))
        assert (basic.method, keyed.method) == ("client_secret_basic", "private_key_jwt")

    def test_a_method_not_listed_is_refused_with_invalid_client(self) -> None:
        methods = [spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_PRIVATE_KEY_JWT]
        with pytest.raises(InvalidClient, match="another authentication method") as info:
            self.run(methods, {}, {"client_id": "both", "client_secret": "both-secret"})
        response = info.value.to_response()
        assert response.status == 401 and response.headers["cache-control"] == "no-store"
        assert json.loads(response.body)["error"] == "invalid_client"

    def test_private_key_jwt_among_methods_needs_keys(self) -> None:
        with pytest.raises(ValueError, match="public keys"):
            RegisteredClient.with_methods(
                "x", [spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_PRIVATE_KEY_JWT], secret="s"
            )
