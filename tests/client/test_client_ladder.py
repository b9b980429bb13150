"""The token ladder, discovery and URL rules, driven through XAAClient over a MockTransport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.client.client_support import (
    AS,
    IDP,
    RESOURCE,
    Clock,
    World,
    config,
    id_token,
    session,
)
from xaa import ConfigurationError, ProtocolViolation, spec
from xaa.adapters.httpx_client import XAAAuth, XAAClient
from xaa.client import (
    IdentitySession,
    PolicyDenied,
    ReauthenticationRequired,
    StepUpRequired,
    TokenRequestRefused,
    UnknownAuthorizationServer,
    authorization_server_metadata_urls,
    parse_www_authenticate,
    protected_resource_metadata_urls,
    require_same_origin,
    require_secure,
)


def make(world: World, **options: Any) -> XAAClient:
    http = httpx.Client(transport=world.transport())
    return XAAClient(config(world.clock, **options), session=session(world.clock), http=http)


@pytest.fixture
def world() -> World:
    return World(Clock())


def test_both_legs_then_the_cache(world: World) -> None:
    client = make(world)
    token = client.get_token(RESOURCE, "chat.read")
    assert token.token == "at-0" and token.issuer == AS and token.resource == RESOURCE
    exchange, bearer = world.forms
    assert exchange["audience"] == AS and exchange["resource"] == RESOURCE
    assert bearer["assertion"].count(".") == 2 and bearer["scope"] == "chat.read"
    before = sum(world.calls.values())
    assert client.get_token(RESOURCE, "chat.read") is token  # rung 1: no I/O at all
    assert sum(world.calls.values()) == before


def test_cache_is_per_scope_set(world: World) -> None:
    client = make(world)
    a = client.get_token(RESOURCE, "chat.read")
    b = client.get_token(RESOURCE, ["chat.read", "chat.write"])
    assert a.token != b.token and world.exchanges() == 2
    assert client.get_token(RESOURCE, "chat.write chat.read") is b


def test_clock_driven_expiry_with_skew(world: World) -> None:
    client = make(world)
    first = client.get_token(RESOURCE, "chat.read")
    world.clock.now += 300 - 31  # 31 s before expiry: still valid with 30 s skew
    assert client.get_token(RESOURCE, "chat.read") is first
    world.clock.now += 1  # 30 s before expiry: treated as expired
    second = client.get_token(RESOURCE, "chat.read")
    assert second.token == "at-1" and world.exchanges() == 2


def test_rung2_represent_cached_id_jag(world: World) -> None:
    client = make(world, reuse_id_jag=True)
    world.at_lifetime = 60
    client.get_token(RESOURCE, "chat.read")
    world.clock.now += 45
    client.get_token(RESOURCE, "chat.read")
    assert world.exchanges() == 1 and len(world.issued) == 2  # only the AS was asked
    assert world.forms[1]["assertion"] == world.forms[2]["assertion"]


def test_rung2_refused_falls_to_a_new_id_jag(world: World) -> None:
    client = make(world, reuse_id_jag=True)
    world.at_lifetime = 60
    client.get_token(RESOURCE, "chat.read")
    world.clock.now += 45

    original = world._as_token
    refused = {"n": 0}

    def once_refused(request: Any) -> Any:
        if refused["n"] == 0:
            refused["n"] += 1
            world._form(request)
            return world._json(400, {"error": "invalid_grant"})
        return original(request)

    world._as_token = once_refused  # type: ignore[method-assign]
    token = client.get_token(RESOURCE, "chat.read")
    assert token.token == "at-1" and world.exchanges() == 2


def test_without_reuse_an_expired_token_needs_a_new_id_jag(world: World) -> None:
    client = make(world)
    client.get_token(RESOURCE, "chat.read")
    world.clock.now += 400
    client.get_token(RESOURCE, "chat.read")
    assert world.exchanges() == 2


def test_rung4_refresh_for_a_new_id_token(world: World) -> None:
    client = make(world)
    client.session = session(world.clock, lifetime=20, refresh="rt-1")  # inside the skew
    token = client.get_token(RESOURCE, "chat.read")
    grants = [f["grant_type"] for f in world.forms]
    assert grants == [spec.GRANT_REFRESH_TOKEN, spec.GRANT_TOKEN_EXCHANGE, spec.GRANT_JWT_BEARER]
    assert world.forms[0]["refresh_token"] == "rt-1"
    assert client.session.refresh_token == "rt-2"  # rotated
    assert world.forms[1]["subject_token"] == client.session.id_token
    assert token.token == "at-0"


def test_rung4_refresh_token_as_subject_token(world: World) -> None:
    client = make(world, refresh_token_as_subject=True)
    client.session = session(world.clock, lifetime=-100, refresh="rt-1")
    client.get_token(RESOURCE, "chat.read")
    exchange = world.forms[0]
    assert exchange["subject_token"] == "rt-1"
    assert exchange["subject_token_type"] == spec.TOKEN_TYPE_REFRESH_TOKEN


def test_rung5_reauthentication_required(world: World) -> None:
    client = make(world)
    client.session = session(world.clock, lifetime=-100)
    with pytest.raises(ReauthenticationRequired) as caught:
        client.get_token(RESOURCE, "chat.read")
    url = caught.value.authorization_url
    assert url is not None and url.startswith(IDP + "/authorize?")
    assert "client_id=agent" in url and "redirect_uri=" in url
    assert world.forms == []


def test_rung5_after_a_refused_refresh(world: World) -> None:
    client = make(world)
    client.session = session(world.clock, lifetime=-100, refresh="rt-1")
    world.refresh_error = True
    with pytest.raises(ReauthenticationRequired):
        client.get_token(RESOURCE, "chat.read")
    assert client.session.refresh_token is None


def test_idp_refusing_the_id_token_tries_the_refresh_token(world: World) -> None:
    client = make(world)
    client.session = session(world.clock, refresh="rt-1")
    world.idp_error = {"error": "invalid_grant"}
    with pytest.raises(TokenRequestRefused) as caught:  # the refreshed ID token too: no loop
        client.get_token(RESOURCE, "chat.read")
    assert (caught.value.error, caught.value.hop) == ("invalid_grant", "idp-token-exchange")
    grants = [f["grant_type"] for f in world.forms]
    assert grants == [
        spec.GRANT_TOKEN_EXCHANGE,
        spec.GRANT_REFRESH_TOKEN,
        spec.GRANT_TOKEN_EXCHANGE,
    ]


def test_idp_refusing_the_id_token_without_refresh_token(world: World) -> None:
    client = make(world)
    world.idp_error = {"error": "invalid_request"}
    with pytest.raises(ReauthenticationRequired):
        client.get_token(RESOURCE, "chat.read")


def test_policy_denial_is_typed_and_never_retried(world: World) -> None:
    client = make(world)
    world.idp_error = {"error": "access_denied", "error_description": "policy"}
    with pytest.raises(PolicyDenied) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.error == "access_denied" and caught.value.where == "IdP"
    assert world.exchanges() == 1


def test_step_up_from_the_idp(world: World) -> None:
    client = make(world)
    world.idp_error = {"error": "insufficient_user_authentication", "max_age": 5}
    with pytest.raises(StepUpRequired) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.max_age == 5


def test_as_denial_is_typed(world: World) -> None:
    client = make(world)
    world.as_error = {"error": "invalid_scope"}
    with pytest.raises(PolicyDenied) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.where == "authorization server"


def test_bad_id_jag_is_sent_nowhere(world: World) -> None:
    client = make(world)
    world.exchange_body = {"token_type": "Bearer"}
    with pytest.raises(ProtocolViolation):
        client.get_token(RESOURCE, "chat.read")
    assert world.count(AS + "/token") == 0


def test_redirect_from_the_token_endpoint_is_not_followed(world: World) -> None:
    client = make(world)
    world.idp_error = {}
    world.idp_status = 307
    with pytest.raises(ProtocolViolation) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.rule == "no-redirects"


@pytest.mark.parametrize(
    ("which", "meta", "rule"),
    [
        ("idp", {"issuer": "https://idp.example/"}, "issuer-mismatch"),
        ("as", {"issuer": "https://evil.example"}, "issuer-mismatch"),
        ("as", {"token_endpoint": "https://evil.example/token"}, "endpoint-origin"),
        ("idp", {"token_endpoint": "https://evil.example/token"}, "endpoint-origin"),
        ("as", {"token_endpoint": "http://as.example/token"}, "https-required"),
        ("as", {"authorization_grant_profiles_supported": []}, "as-id-jag-profile"),
        ("as", {"grant_types_supported": ["authorization_code"]}, "as-metadata"),
        ("idp", {"identity_chaining_requested_token_types_supported": []}, "idp-id-jag"),
    ],
)
def test_metadata_defects_abort(world: World, which: str, meta: dict[str, Any], rule: str) -> None:
    setattr(world, f"{which}_meta", meta)
    with pytest.raises(ProtocolViolation) as caught:
        make(world).get_token(RESOURCE, "chat.read")
    assert caught.value.rule == rule
    assert world.count(AS + "/token") == 0


def test_metadata_checks_can_be_relaxed(world: World) -> None:
    world.as_meta = {"authorization_grant_profiles_supported": []}
    assert make(world, require_id_jag_profile=False).get_token(RESOURCE, "chat.read")


def test_metadata_ttl(world: World) -> None:
    client = make(world)
    client.get_token(RESOURCE, "a")
    client.get_token(RESOURCE, "b")
    meta = "https://as.example/.well-known/oauth-authorization-server"
    assert world.count(meta) == 1
    world.clock.now += 301
    client.get_token(RESOURCE, "c")
    assert world.count(meta) == 2


def test_unknown_authorization_server(world: World) -> None:
    client = make(world)
    with pytest.raises(UnknownAuthorizationServer):
        client.get_token(RESOURCE, "a", authorization_server="https://other.example")


def test_resource_metadata_naming_another_resource(world: World) -> None:
    client = make(world)
    with pytest.raises(ProtocolViolation) as caught:
        client.get_token("https://api.example/api/", "a")  # the document names .../api
    assert caught.value.rule == "resource-metadata"


def test_actor_token_is_passed_through(world: World) -> None:
    client = make(world)
    client.get_token(RESOURCE, "a", actor_token="act.jwt", actor_token_type=spec.TOKEN_TYPE_JWT)
    assert world.forms[0]["actor_token"] == "act.jwt"


def test_subject_from_id_token_and_secrets_not_in_repr() -> None:
    s = IdentitySession(id_token=id_token(0), refresh_token="rt-secret")
    assert s.subject == f"{IDP} alice"
    assert "rt-secret" not in repr(s) and "eyJ" not in repr(s)
    with pytest.raises(ConfigurationError):
        IdentitySession(refresh_token="x")


def test_url_rules() -> None:
    for ok in (
        "https://a.example/x",
        "http://127.0.0.1:9/x",
        "http://127.8.9.1/",
        "http://[::1]:8/",
        "http://localhost:1/",
    ):
        require_secure(ok)
    for bad in ("http://a.example/x", "ftp://a.example", "http://10.0.0.1/", "https:///x"):
        with pytest.raises(ProtocolViolation):
            require_secure(bad)
    require_same_origin("https://a.example:443/token", "https://a.example")
    with pytest.raises(ProtocolViolation):
        require_same_origin("https://a.example:8443/token", "https://a.example")


def test_well_known_urls_are_path_aware() -> None:
    assert protected_resource_metadata_urls("https://r.example/api/v1") == [
        "https://r.example/.well-known/oauth-protected-resource/api/v1",
        "https://r.example/.well-known/oauth-protected-resource",
    ]
    assert authorization_server_metadata_urls("https://as.example/tenant") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant",
        "https://as.example/tenant/.well-known/openid-configuration",
        "https://as.example/.well-known/openid-configuration/tenant",
    ]


def test_oidc_discovery_fallback(world: World) -> None:
    original = world.handle
    seen: list[str] = []

    def oidc_only(request: Any) -> Any:
        seen.append(str(request.url))
        if request.url.host == "idp.example" and request.url.path == spec.WELL_KNOWN_OAUTH_AS:
            return world._json(404, {})
        if request.url.path == spec.WELL_KNOWN_OPENID:
            request.url = request.url.copy_with(path=spec.WELL_KNOWN_OAUTH_AS)
        return original(request)

    world.handle = oidc_only  # type: ignore[method-assign]
    assert make(world).get_token(RESOURCE, "a")
    assert IDP + spec.WELL_KNOWN_OPENID in seen


def test_www_authenticate_parsing() -> None:
    header = (
        'Bearer realm="api", error="insufficient_scope", scope="a b", '
        'resource_metadata="https://r.example/.well-known/oauth-protected-resource", max_age=5'
    )
    assert parse_www_authenticate(header) == {
        "realm": "api",
        "error": "insufficient_scope",
        "scope": "a b",
        "resource_metadata": "https://r.example/.well-known/oauth-protected-resource",
        "max_age": "5",
    }
    assert parse_www_authenticate(None) == {}


def test_refresh_token_as_subject_when_the_idp_advertises_it(world: World) -> None:
    world.idp_meta = {"subject_token_types_supported": [spec.TOKEN_TYPE_REFRESH_TOKEN]}
    client = make(world)
    client.session = session(world.clock, lifetime=-100, refresh="rt-1")
    client.get_token(RESOURCE, "chat.read")
    assert world.forms[0]["subject_token_type"] == spec.TOKEN_TYPE_REFRESH_TOKEN


def test_reauthentication_says_the_id_token_expired_and_there_is_no_refresh_token(
    world: World,
) -> None:
    client = make(world)
    client.session = session(world.clock, lifetime=-100)
    with pytest.raises(ReauthenticationRequired) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.reason.startswith("no usable subject token: the ID token expires at ")
    assert caught.value.reason.endswith(" and there is no refresh token")


def test_reauthentication_says_the_idp_refused_the_refresh_token(world: World) -> None:
    client = make(world)
    client.session = session(world.clock, lifetime=-100, refresh="rt-1")
    world.refresh_error = True
    with pytest.raises(ReauthenticationRequired) as caught:
        client.get_token(RESOURCE, "chat.read")
    assert caught.value.reason.endswith(f"and the IdP at {IDP} refused the refresh token")
    assert "rt-1" not in str(caught.value)


def test_token_expiring_mid_session_raises_reauthentication_from_xaa_auth(world: World) -> None:
    """The access token and the ID token run out while the agent works: the next request
    through ``XAAAuth`` raises ``ReauthenticationRequired`` saying why, with the sign-in URL."""
    token_http = httpx.Client(transport=world.transport())
    client = XAAClient(
        config(world.clock), session=session(world.clock, lifetime=600), http=token_http
    )
    auth = XAAAuth(client, resource=RESOURCE, scope="chat.read")
    with httpx.Client(transport=world.transport(), auth=auth) as api:
        assert api.get(RESOURCE + "/data").status_code == 200
        world.clock.now += 300  # the access token (300 s) is gone, the ID token still good
        assert api.get(RESOURCE + "/data").status_code == 200
        world.clock.now += 600  # both gone, no refresh token
        with pytest.raises(ReauthenticationRequired) as caught:
            api.get(RESOURCE + "/data")
    assert "the ID token expires at" in caught.value.reason
    assert (caught.value.authorization_url or "").startswith(IDP + "/authorize?")
    assert world.exchanges() == 2
