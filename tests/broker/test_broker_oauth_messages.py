"""Sans-I/O fallback messages: PKCE, authorization URL, token requests, processors, strategy."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xaa import (
    AuthorizationServerMetadata,
    HttpResponse,
    InvalidGrant,
    InvalidRequest,
    ProtocolViolation,
    parse_form,
)
from xaa.broker import (
    AppConfig,
    PendingAuthorizations,
    ScopeExceedsGrant,
    Strategy,
    authorization_request,
    choose_strategy,
    client_credentials_request,
    code_exchange_request,
    downscope,
    process_grant_response,
    refresh_request,
    revocation_request,
    revocation_succeeded,
    token_fingerprint,
)
from xaa.client import ClientCredentials
from xaa.pkce import code_challenge

AS = "http://127.0.0.1:9600"
CREDS = ClientCredentials.secret_basic("broker", "s3cret")
SCOPE = st.frozensets(st.sampled_from(["a", "b", "c", "d", "e"]))


def _pending(now: float = 1000.0, ttl: float = 600.0):  # type: ignore[no-untyped-def]
    return authorization_request(
        AS + "/authorize",
        client_id="broker",
        redirect_uri="http://127.0.0.1:9701/callback",
        resource=AS + "/api",
        scopes=frozenset({"chat.read", "chat.write"}),
        person="alice",
        agent="summarizer",
        app="legacy",
        now=now,
        ttl=ttl,
    )


def _json(status: int, body: dict[str, object]) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(body).encode())


def test_authorization_url_carries_pkce_state_and_resource() -> None:
    pending = _pending()
    query = {k: v[0] for k, v in parse_qs(urlsplit(pending.url).query).items()}
    assert query["code_challenge"] == code_challenge(pending.code_verifier)
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == pending.state
    assert query["resource"] == AS + "/api"
    assert query["scope"] == "chat.read chat.write"
    assert 43 <= len(pending.code_verifier) <= 128
    assert pending.state not in repr(pending) and pending.code_verifier not in repr(pending)
    assert _pending().state != pending.state


def test_authorization_endpoint_must_be_secure() -> None:
    with pytest.raises(ProtocolViolation):
        authorization_request(
            "http://example.com/authorize",
            client_id="c",
            redirect_uri="https://b/cb",
            resource="https://r",
            scopes=frozenset(),
            person="p",
            agent=None,
            app="a",
            now=0,
        )


def test_pending_is_single_use_and_expires() -> None:
    store = PendingAuthorizations()
    pending = _pending(now=1000.0, ttl=10.0)
    store.add(pending, 1000.0)
    assert store.take(pending.state, 1009.0) == pending
    with pytest.raises(InvalidRequest):
        store.take(pending.state, 1009.0)
    store.add(pending, 1000.0)
    with pytest.raises(InvalidRequest):
        store.take(pending.state, 1010.0)  # at expiry: stale
    with pytest.raises(InvalidRequest):
        store.take(None, 1000.0)


def test_code_exchange_sends_verifier_redirect_and_resource() -> None:
    pending = _pending()
    request = code_exchange_request(
        AS + "/token", CREDS, issuer=AS, code="the-code", pending=pending, now=0
    )
    form = parse_form(request.body)
    assert form["grant_type"] == "authorization_code"
    assert form["code_verifier"] == pending.code_verifier
    assert form["redirect_uri"] == pending.redirect_uri
    assert form["resource"] == AS + "/api"
    assert request.headers["authorization"].startswith("Basic ")
    assert "the-code" not in repr(request)


def test_refresh_asks_for_the_subset() -> None:
    request = refresh_request(
        AS + "/token",
        CREDS,
        issuer=AS,
        refresh_token="rt",
        scopes=frozenset({"a"}),
        resource=AS + "/api",
        now=0,
    )
    form = parse_form(request.body)
    assert (form["grant_type"], form["scope"], form["refresh_token"]) == (
        "refresh_token",
        "a",
        "rt",
    )


def test_client_credentials_and_revocation_requests() -> None:
    cc = client_credentials_request(
        AS + "/token", CREDS, issuer=AS, scopes=frozenset({"a"}), resource=AS + "/api", now=0
    )
    assert parse_form(cc.body)["grant_type"] == "client_credentials"
    rv = revocation_request(
        AS + "/revoke", CREDS, issuer=AS, token="rt", token_type_hint="refresh_token", now=0
    )
    assert dict(parse_form(rv.body)) == {"token": "rt", "token_type_hint": "refresh_token"}
    assert revocation_succeeded(HttpResponse(200, {}, b""))
    assert not revocation_succeeded(HttpResponse(503, {}, b""))


def test_token_calls_stay_on_the_issuer_origin() -> None:
    with pytest.raises(ProtocolViolation):
        refresh_request(
            "http://127.0.0.1:9999/token",
            CREDS,
            issuer=AS,
            refresh_token="rt",
            scopes=frozenset(),
            resource=AS + "/api",
            now=0,
        )


def test_grant_response_processing() -> None:
    ok = {"access_token": "at", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt2"}
    grant = process_grant_response(
        _json(200, {**ok, "scope": "a"}),
        issuer=AS,
        resource="r",
        requested=frozenset({"a"}),
        ceiling=frozenset({"a", "b"}),
        now=100.0,
    )
    assert grant.refresh_token == "rt2" and grant.access.expires_at == 160.0
    absent = process_grant_response(
        _json(200, ok), issuer=AS, resource="r", requested=frozenset({"b"}), now=0
    )
    assert absent.access.scopes == {"b"}  # RFC 6749 §5.1: absent scope = as requested
    with pytest.raises(ProtocolViolation):
        process_grant_response(
            _json(200, {**ok, "scope": "a c"}),
            issuer=AS,
            resource="r",
            requested=frozenset({"a"}),
            ceiling=frozenset({"a", "b"}),
            now=0,
        )
    with pytest.raises(ProtocolViolation):
        process_grant_response(
            _json(200, {**ok, "refresh_token": 7}),
            issuer=AS,
            resource="r",
            requested=frozenset(),
            now=0,
        )
    with pytest.raises(InvalidGrant):
        process_grant_response(
            _json(400, {"error": "invalid_grant"}),
            issuer=AS,
            resource="r",
            requested=frozenset(),
            now=0,
        )


@given(requested=SCOPE, grant=SCOPE)
def test_downscope_never_exceeds_the_grant(
    requested: frozenset[str], grant: frozenset[str]
) -> None:
    try:
        asked = downscope("app", requested, grant)
    except ScopeExceedsGrant as exc:
        assert exc.missing == requested - grant and exc.missing
    else:
        assert asked <= grant
        assert asked == (requested or grant)


@given(st.text(min_size=1, max_size=200))
def test_fingerprint_is_stable_and_never_the_token(token: str) -> None:
    fp = token_fingerprint(token)
    assert fp == token_fingerprint(token) and fp.startswith("sha256:")
    assert len(fp) == 23
    if len(token) > 3:
        assert token not in fp


def _meta(**extra: object) -> AuthorizationServerMetadata:
    return AuthorizationServerMetadata.model_validate(
        {"issuer": AS, "token_endpoint": AS + "/token", **extra}
    )


XAA_META = {
    "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer", "authorization_code"],
    "authorization_grant_profiles_supported": ["urn:ietf:params:oauth:grant-profile:id-jag"],
    "authorization_endpoint": AS + "/authorize",
}


@pytest.mark.parametrize(
    ("configured", "redirect", "meta", "expected"),
    [
        (None, "http://127.0.0.1/cb", XAA_META, Strategy.XAA),
        (None, "http://127.0.0.1/cb", {"authorization_endpoint": AS + "/a"}, "authorization_code"),
        (None, None, {"authorization_endpoint": AS + "/a"}, "no-strategy"),
        (None, None, {"grant_types_supported": ["client_credentials"]}, "client_credentials"),
        (
            None,
            "http://127.0.0.1/cb",
            {"grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]},
            "no-strategy",
        ),
        (Strategy.AUTHORIZATION_CODE, "http://127.0.0.1/cb", XAA_META, "authorization_code"),
        (Strategy.XAA, None, {"authorization_endpoint": AS + "/a"}, "as-id-jag-profile"),
        (Strategy.CLIENT_CREDENTIALS, None, {}, "client_credentials"),
    ],
)
def test_choose_strategy(
    configured: Strategy | None, redirect: str | None, meta: dict[str, object], expected: str
) -> None:
    app = AppConfig("x", AS, AS + "/api", "broker", strategy=configured, redirect_uri=redirect)
    if expected in ("no-strategy", "as-id-jag-profile"):
        with pytest.raises(ProtocolViolation) as exc:
            choose_strategy(app, _meta(**meta))
        assert exc.value.rule == expected
    else:
        assert choose_strategy(app, _meta(**meta)) == expected
