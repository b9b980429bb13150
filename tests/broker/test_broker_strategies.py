"""Broker.access_token: strategy by discovery, XAA, fallback, denial, cache, single flight."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from tests.broker.broker_support import CALLBACK, World, build_app, consent_via_http
from xaa import InvalidRequest, ProtocolViolation
from xaa.adapters.broker import Broker
from xaa.broker import (
    AuthorizationRequired,
    BlockedByPolicy,
    ScopeExceedsGrant,
    SecretKind,
    Slot,
    Strategy,
    token_fingerprint,
)

pytestmark = pytest.mark.anyio


async def _grant_legacy(world: World, scopes: str = "chat.read chat.write chat.history") -> None:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", scopes, actor="summarizer")
    assert needed.value.authorization_url is not None
    transport = httpx.ASGITransport(app=build_app(world.state))
    async with httpx.AsyncClient(transport=transport) as browser:
        landed = await consent_via_http(browser, needed.value.authorization_url)
    assert str(landed).startswith(CALLBACK)
    await world.broker.complete_authorization(landed.params.get("state"), landed.params.get("code"))


async def test_chat_is_discovered_as_xaa_and_attributed(world: World) -> None:
    token = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    assert token.strategy == Strategy.XAA
    assert token.access.scopes == {"chat.read"}
    assert world.state.idp_requests == 1
    assert world.state.grants == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert world.state.chat_authorize_hits == 0
    (record,) = world.broker.log()
    assert (record.person, record.agent, record.app, record.strategy) == (
        "alice",
        "summarizer",
        "chat",
        "xaa",
    )
    assert record.requested_scopes == ("chat.read",)
    assert record.granted_scopes == ("chat.read",)
    assert record.fingerprint == token_fingerprint(token.token)
    assert token.token.encode() not in world.db.read_bytes()


async def test_policy_denial_is_blocked_and_never_falls_back(world: World) -> None:
    with pytest.raises(BlockedByPolicy) as blocked:
        await world.broker.access_token("alice", "chat", "chat.admin", actor="summarizer")
    assert blocked.value.error == "access_denied"
    assert blocked.value.reason == "chat.admin is not allowed for agents"
    assert blocked.value.where == "IdP"
    assert blocked.value.to_json()["blocked_by_policy"] == "chat"
    # no OAuth fallback: no authorization URL, no other grant tried, nothing minted
    assert world.state.chat_authorize_hits == 0
    assert world.state.grants == []
    assert world.broker.log() == []
    assert len(world.broker.flow.pending._pending) == 0


async def test_xaa_without_idp_session_asks_for_sign_in(world: World) -> None:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("bob", "chat", "chat.read", actor="summarizer")
    assert needed.value.strategy == "xaa"
    assert world.state.idp_requests == 0


async def test_legacy_without_grant_returns_pkce_authorization_url(world: World) -> None:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert needed.value.strategy == "authorization_code"
    url = needed.value.authorization_url
    assert url is not None
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == world.state.legacy + "/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == "broker-at-legacy"
    assert query["redirect_uri"] == CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32
    assert query["resource"] == world.state.legacy + "/api"
    assert query["scope"] == "chat.read"
    assert world.state.grants == []


async def test_fallback_code_exchange_vaults_refresh_and_downscopes(world: World) -> None:
    await _grant_legacy(world)
    assert world.state.grants == ["authorization_code"]
    entry = world.broker.config.vault.get(Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy"))
    assert entry is not None
    assert entry.scopes == {"chat.read", "chat.write", "chat.history"}
    assert entry.secret in world.state.refresh_tokens
    assert entry.secret.encode() not in world.db.read_bytes()

    token = await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert token.strategy == Strategy.AUTHORIZATION_CODE
    assert token.access.scopes == {"chat.read"}
    assert world.state.refresh_scopes == ["chat.read"]
    rotated = world.broker.config.vault.get(Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy"))
    assert rotated is not None and rotated.secret != entry.secret
    assert rotated.scopes == entry.scopes
    records = world.broker.log()
    assert [r.strategy for r in records] == ["authorization_code", "authorization_code"]
    assert records[-1].granted_scopes == ("chat.read",)


async def test_refresh_never_asks_beyond_the_grant(world: World) -> None:
    await _grant_legacy(world, "chat.read")
    with pytest.raises(ScopeExceedsGrant) as exceeded:
        await world.broker.access_token("alice", "legacy", "chat.read chat.write", actor="a")
    assert exceeded.value.missing == {"chat.write"}
    assert world.state.grants == ["authorization_code"]


async def test_as_ignoring_downscope_is_logged_with_what_it_granted(world: World) -> None:
    await _grant_legacy(world)
    world.state.honour_downscope = False
    token = await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert token.access.scopes == {"chat.read", "chat.write", "chat.history"}
    record = world.broker.log()[-1]
    assert record.requested_scopes == ("chat.read",)
    assert record.granted_scopes == ("chat.history", "chat.read", "chat.write")


async def test_tokens_are_cached_until_expiry(world: World) -> None:
    first = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    again = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    assert again is first
    assert world.state.idp_requests == 1
    other_agent = await world.broker.access_token("alice", "chat", "chat.read", actor="triage")
    assert other_agent.token != first.token
    assert world.state.idp_requests == 2


async def test_concurrent_callers_share_one_refresh(world: World) -> None:
    await _grant_legacy(world)
    results = []

    async def call() -> None:
        results.append(
            await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
        )

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(call)
    assert world.state.grants.count("refresh_token") == 1
    assert len({t.token for t in results}) == 1


async def test_client_credentials_for_service_account_apps(world: World) -> None:
    token = await world.broker.access_token("alice", "legacy-svc", "chat.read", actor="bot")
    assert token.strategy == Strategy.CLIENT_CREDENTIALS
    assert world.state.grants == ["client_credentials"]
    assert world.broker.log()[0].person == "alice"


async def test_refused_grant_is_dropped_and_authorization_asked_again(world: World) -> None:
    await _grant_legacy(world)
    world.state.refresh_tokens.clear()  # the app revoked it on its side
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert needed.value.reason == "the app refused the grant"
    assert world.broker.config.vault.get(Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy")) is None


@pytest.mark.parametrize("defect", ["unknown", "reused", "missing"])
async def test_callback_state_must_be_outstanding(world: World, defect: str) -> None:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert needed.value.authorization_url is not None
    transport = httpx.ASGITransport(app=build_app(world.state))
    async with httpx.AsyncClient(transport=transport) as browser:
        landed = await consent_via_http(browser, needed.value.authorization_url)
    state, code = landed.params.get("state"), landed.params.get("code")
    if defect == "reused":
        await world.broker.complete_authorization(state, code)
    bad_state = {"unknown": "x" * 32, "reused": state, "missing": None}[defect]
    with pytest.raises(InvalidRequest):
        await world.broker.complete_authorization(bad_state, code)
    assert world.state.grants.count("authorization_code") == (1 if defect == "reused" else 0)


async def test_cache_expires_with_skew_then_mints_again(world: World) -> None:
    now = [time.time()]
    config = dataclasses.replace(world.broker.config, clock=lambda: now[0])
    broker = Broker(config, http=world.broker._http)
    first = await broker.access_token("alice", "legacy-svc", "chat.read", actor="bot")
    now[0] += 300 - 30 - 1  # expires_in 300, skew 30: still fresh
    assert await broker.access_token("alice", "legacy-svc", "chat.read", actor="bot") is first
    now[0] += 1  # now within the skew: minted again
    second = await broker.access_token("alice", "legacy-svc", "chat.read", actor="bot")
    assert second.token != first.token
    assert world.state.grants == ["client_credentials", "client_credentials"]


async def test_as_policy_denial_on_jwt_bearer_is_blocked_too(world: World) -> None:
    with pytest.raises(BlockedByPolicy) as blocked:
        await world.broker.access_token("alice", "chat", "chat.secret", actor="summarizer")
    assert (blocked.value.error, blocked.value.where) == ("access_denied", "authorization server")
    assert blocked.value.reason == "chat.secret needs an admin"
    assert world.state.chat_authorize_hits == 0
    assert world.broker.log() == []


async def test_configured_xaa_is_never_downgraded(world: World) -> None:
    with pytest.raises(ProtocolViolation) as refused:
        await world.broker.access_token("alice", "legacy-forced-xaa", "chat.read", actor="a")
    assert refused.value.rule == "as-id-jag-profile"
    assert world.state.legacy_authorize_hits == 0
    assert world.state.grants == [] and world.state.idp_requests == 0
