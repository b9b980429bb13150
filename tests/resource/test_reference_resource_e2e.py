"""The reference chat app over real HTTP on loopback: XAA flow, chat API, legacy code flow."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_resource import Settings, create_app
from reference_resource.settings import CHANNELS
from reference_resource.store import ChatStore
from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.servers import free_port, serve
from xaa import LoginThrottle, SigningKey, spec
from xaa.dpop import DEFAULT_DPOP_ALGS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


@pytest.fixture(scope="module")
def chat(idp: LoopbackIdp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = str(tmp_path_factory.mktemp("chat") / "chat.db")
    settings = Settings.make(
        port=port,
        db=db,
        trust_idps=[idp.issuer],
        idp_email_domains=[(idp.issuer, "acme.example")],
    )
    with serve(create_app(settings), port) as base:
        yield base


def redeem(base: str, assertion: str, **extra: str) -> httpx.Response:
    return httpx.post(
        base + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion, **extra},
        auth=("wiki-at-chat", "wiki-chat-secret"),
    )


def test_metadata_documents(chat: str) -> None:
    meta = httpx.get(chat + "/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == chat
    assert spec.GRANT_JWT_BEARER in meta["grant_types_supported"]
    assert meta["authorization_grant_profiles_supported"] == [spec.GRANT_PROFILE_ID_JAG]
    assert "127.0.0.1:9400" not in json.dumps(meta)
    prm = httpx.get(chat + "/.well-known/oauth-protected-resource/api").json()
    assert prm == {
        "resource": chat + "/api",
        "authorization_servers": [chat],
        "scopes_supported": ["chat.history", "chat.read", "chat.write"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "PS256", "RS256"],
        "dpop_bound_access_tokens_required": False,
    }
    jwks = httpx.get(chat + "/jwks.json").json()
    assert all("d" not in k for k in jwks["keys"])


def test_xaa_flow_reads_and_posts_with_attribution(chat: str, idp: LoopbackIdp) -> None:
    jag = idp.id_jag(chat, "wiki-at-chat", act={"sub": "agent-7"})
    response = redeem(chat, jag)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert "refresh_token" not in tokens
    assert tokens["resource"] == chat + "/api"
    auth = {"authorization": "Bearer " + tokens["access_token"]}
    channels = httpx.get(chat + "/api/channels", headers=auth).json()["channels"]
    assert {"id": "general", "name": "General"} in channels
    posted = httpx.post(
        chat + "/api/channels/general/messages", headers=auth, json={"text": "hello from the wiki"}
    )
    assert posted.status_code == 201, posted.text
    message = posted.json()
    assert message["author"] == "alice@acme.example"
    assert message["client_id"] == "wiki-at-chat"
    assert message["idp"] == idp.issuer
    assert message["act"] == {"sub": "agent-7"}
    assert message["attribution"] == "alice via agent-7"  # docs/actors.md display
    history = httpx.get(chat + "/api/channels/general/messages", headers=auth).json()
    assert history["messages"][-1]["text"] == "hello from the wiki"
    # The same ID-JAG again: single use.
    again = redeem(chat, jag)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_api_challenges(chat: str, idp: LoopbackIdp) -> None:
    none = httpx.get(chat + "/api/channels")
    assert none.status_code == 401
    meta = f'resource_metadata="{chat}/.well-known/oauth-protected-resource/api"'
    algs = " ".join(DEFAULT_DPOP_ALGS)
    # Bearer and DPoP are both accepted (RFC 9449 §7.2), each with the metadata URL.
    assert none.headers["www-authenticate"] == f'Bearer {meta}, DPoP {meta}, algs="{algs}"'
    read_only = redeem(chat, idp.id_jag(chat, "wiki-at-chat", scope="chat.read")).json()
    auth = {"authorization": "Bearer " + read_only["access_token"]}
    denied = httpx.post(chat + "/api/channels/general/messages", headers=auth, json={"text": "x"})
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    assert 'scope="chat.write"' in denied.headers["www-authenticate"]
    two_ways = httpx.get(chat + "/api/channels?access_token=x", headers=auth)
    assert (two_ways.status_code, two_ways.json()["error"]) == (400, "invalid_request")
    forged = httpx.get(
        chat + "/api/channels",
        headers={"authorization": "Bearer " + read_only["access_token"][:-3] + "AAA"},
    )
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]


def test_unknown_kid_triggers_one_refresh_then_rejection(chat: str, idp: LoopbackIdp) -> None:
    before = len(idp.jwks_hits)
    rogue = SigningKey.generate("ES256", kid="rotated-away")
    original, idp.key = idp.key, rogue
    try:
        first = redeem(chat, idp.id_jag(chat, "wiki-at-chat"))
        second = redeem(chat, idp.id_jag(chat, "wiki-at-chat"))
    finally:
        idp.key = original
    assert first.json()["error"] == second.json()["error"] == "invalid_grant"
    assert len(idp.jwks_hits) - before <= 1


def test_client_auth_variants(chat: str, idp: LoopbackIdp) -> None:
    post = httpx.post(
        chat + "/token",
        data={
            "grant_type": spec.GRANT_JWT_BEARER,
            "assertion": idp.id_jag(chat, "agent-at-chat"),
            "client_id": "agent-at-chat",
            "client_secret": "agent-chat-secret",
        },
    )
    assert post.status_code == 200, post.text
    none = httpx.post(
        chat + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER, "assertion": idp.id_jag(chat, "wiki-at-chat")},
    )
    assert (none.status_code, none.json()["error"]) == (401, "invalid_client")
    assert none.headers["cache-control"] == "no-store"


# -- legacy mode: the code flow a broker falls back to ----------------------------------------


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = str(tmp_path_factory.mktemp("legacy") / "legacy.db")
    with serve(create_app(Settings.make(legacy=True, port=port, db=db)), port) as base:
        yield base


def _code_flow(base: str, password: str = "alice-chat") -> httpx.Response:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "http://127.0.0.1:1/callback"
    with httpx.Client(base_url=base) as web:
        page = web.get(
            "/authorize",
            params={
                "response_type": "code",
                "client_id": "wiki-at-chat",
                "redirect_uri": redirect,
                "scope": "chat.read chat.write",
                "state": "s1",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            },
        )
        pending = re.search(r"name='pending' value='([^']+)'", page.text)
        assert pending, page.text
        consent = web.post(
            "/login", data={"pending": pending.group(1), "username": "alice", "password": password}
        )
        if "Allow access?" not in consent.text:
            return consent
        back = web.post("/consent", data={"pending": pending.group(1), "decision": "allow"})
        assert back.status_code == 303
        location = back.headers["location"]
        assert location.startswith(redirect) and "state=s1" in location
        code = re.search(r"code=([^&]+)", location)
        assert code
        return web.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code.group(1),
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
            auth=("wiki-at-chat", "wiki-chat-secret"),
        )


def test_legacy_metadata_has_no_xaa(legacy: str) -> None:
    meta = httpx.get(legacy + "/.well-known/oauth-authorization-server").json()
    assert "authorization_grant_profiles_supported" not in meta
    assert spec.GRANT_JWT_BEARER not in meta["grant_types_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["revocation_endpoint"] == legacy + "/revoke"


def test_legacy_refuses_jwt_bearer(legacy: str, idp: LoopbackIdp) -> None:
    response = redeem(legacy, idp.id_jag(legacy, "wiki-at-chat"))
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_legacy_code_flow_refresh_and_revocation(legacy: str) -> None:
    assert "Wrong username or password" in _code_flow(legacy, password="nope").text
    tokens = _code_flow(legacy)
    assert tokens.status_code == 200, tokens.text
    data: dict[str, Any] = tokens.json()
    assert data["scope"] == "chat.read chat.write"
    auth = {"authorization": "Bearer " + data["access_token"]}
    posted = httpx.post(
        legacy + "/api/channels/random/messages", headers=auth, json={"text": "hi"}
    ).json()
    assert posted["attribution"] == "alice"
    basic = ("wiki-at-chat", "wiki-chat-secret")
    refreshed = httpx.post(
        legacy + "/token",
        auth=basic,
        data={"grant_type": "refresh_token", "refresh_token": data["refresh_token"]},
    )
    assert refreshed.status_code == 200
    reused = httpx.post(
        legacy + "/token",
        auth=basic,
        data={"grant_type": "refresh_token", "refresh_token": data["refresh_token"]},
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    new = refreshed.json()
    assert (
        httpx.post(legacy + "/revoke", auth=basic, data={"token": new["access_token"]}).status_code
        == 200
    )
    after = httpx.get(
        legacy + "/api/channels", headers={"authorization": "Bearer " + new["access_token"]}
    )
    assert after.status_code == 401
    assert (
        httpx.post(legacy + "/revoke", auth=basic, data={"token": new["refresh_token"]}).status_code
        == 200
    )
    gone = httpx.post(
        legacy + "/token",
        auth=basic,
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
    )
    assert gone.json()["error"] == "invalid_grant"


def test_legacy_refuses_foreign_redirect_and_plain_pkce(legacy: str) -> None:
    page = httpx.get(
        legacy + "/authorize",
        params={
            "response_type": "code",
            "client_id": "wiki-at-chat",
            "redirect_uri": "https://evil.example/cb",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert "Unknown client or redirect URI" in page.text
    plain = httpx.get(
        legacy + "/authorize",
        params={
            "response_type": "code",
            "client_id": "wiki-at-chat",
            "redirect_uri": "http://127.0.0.1:1/cb",
            "code_challenge": "x" * 43,
            "code_challenge_method": "plain",
        },
    )
    assert plain.status_code == 303 and "error=invalid_request" in plain.headers["location"]


def test_jwt_bearer_without_assertion_is_invalid_request(chat: str) -> None:
    response = httpx.post(
        chat + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER},
        auth=("wiki-at-chat", "wiki-chat-secret"),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert response.headers["cache-control"] == "no-store"


def test_cli_builds_settings() -> None:
    from xaa.cli import build_parser

    args = build_parser().parse_args(
        ["resource", "serve", "--legacy", "--trust-idp", "http://a", "--trust-idp", "http://b"]
    )
    settings = Settings.make(legacy=args.legacy, trust_idps=args.trust_idp)
    assert settings.issuer == "http://127.0.0.1:9600"
    assert settings.resource == "http://127.0.0.1:9600/api"
    assert settings.trusted_idps == ("http://a", "http://b")
    default = Settings.make()
    assert (default.issuer, default.port) == ("http://127.0.0.1:9500", 9500)
    assert default.clients == (
        ("wiki-at-chat", "wiki-chat-secret"),
        ("agent-at-chat", "agent-chat-secret"),
    )


def test_unauthenticated_garbage_cannot_forge_or_flood_the_chat_audit(
    idp: LoopbackIdp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = Settings.make(port=port, db=str(tmp_path / "chat.db"), trust_idps=[idp.issuer])
    app = create_app(settings)
    forged = 'x\n2026-01-01 audit {"decision": "issued"}'
    with caplog.at_level(logging.INFO), serve(app, port) as base:
        for _ in range(40):
            bad = httpx.post(
                base + "/token",
                data={
                    "grant_type": spec.GRANT_JWT_BEARER,
                    "assertion": "a.b.c",
                    "scope": forged + "s" * 60_000,
                },
                auth=("wiki-at-chat", "wrong\nsecret"),
            )
            assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
            assert httpx.get(base + "/api/channels").status_code == 401
        for _ in range(3):  # an authenticated client's denials are each kept
            assert redeem(base, "not-a-jwt").json()["error"] == "invalid_grant"
    events = app.state.store.audit_events()
    # Two unauthenticated keys: each one row, then its counted summary (written when the
    # app stops at the latest), and the three authenticated denials.
    assert len(events) <= 7, [e.event for e in events]
    assert len([e for e in events if e.client_id == "wiki-at-chat"]) == 3
    assert max(len(e.model_dump_json()) for e in events) < 4_000
    assert not [r for r in caplog.records if "\n" in r.getMessage()]


def _count_pbkdf2(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = hashlib.pbkdf2_hmac

    def spy(*args: Any, **kwargs: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", spy)
    return calls


def test_legacy_login_does_one_pbkdf2_for_known_and_unknown_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.make(legacy=True, db=str(tmp_path / "chat.db"))
    store = ChatStore(settings.db)
    store.seed(settings.users, CHANNELS)
    calls = _count_pbkdf2(monkeypatch)
    for username, password, ok in [
        ("alice", "wrong", False),
        ("nobody", "wrong", False),
        ("alice", "alice-chat", True),
    ]:
        calls[0] = 0
        assert (store.login(username, password) is not None) is ok
        assert calls[0] == 1, (username, calls[0])
    monkeypatch.undo()

    times: dict[str, list[float]] = {"alice": [], "nobody": []}
    for _ in range(7):  # interleaved, best of seven: robust to a busy machine
        for username in times:
            start = time.perf_counter()
            store.login(username, "wrong")
            times[username].append(time.perf_counter() - start)
    ratio = min(times["alice"]) / min(times["nobody"])
    assert 0.7 < ratio < 1.35, ratio  # was ~1.5: three PBKDF2 runs for a known user


def test_legacy_login_locks_after_repeated_wrong_passwords(tmp_path: Path) -> None:
    port = free_port()
    app = create_app(Settings.make(legacy=True, port=port, db=str(tmp_path / "chat.db")))
    clock = [1_000.0]
    app.state.flow.throttle = LoginThrottle(clock=lambda: clock[0])
    with serve(app, port) as base:
        wrong = [_code_flow(base, password="nope") for _ in range(8)]
        assert [r.status_code for r in wrong] == [401] * 6 + [429] * 2
        refused = _code_flow(base)
        assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
        assert int(refused.headers["retry-after"]) >= 1
        clock[0] += 3600
        assert _code_flow(base).status_code == 200  # the lock has passed
    reasons = [e.reason for e in app.state.store.audit_events() if e.event == "login"]
    assert "locked" in reasons and "throttled" in reasons
