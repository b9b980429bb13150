"""The kill switch: vault slots deleted, RFC 7009 at the app, cache dropped, fail closed."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from tests.broker.broker_support import World, build_app, consent_via_http
from xaa import ConfigurationError
from xaa.adapters.broker import SqliteRevocationList
from xaa.broker import (
    AuthorizationRequired,
    RevocationTarget,
    Revoked,
    SecretKind,
    Slot,
    VaultIntegrityError,
)

pytestmark = pytest.mark.anyio
REFRESH = Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy")


async def _grant_legacy(world: World, agent: str = "summarizer") -> None:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", "chat.read chat.write", actor=agent)
    assert needed.value.authorization_url is not None
    transport = httpx.ASGITransport(app=build_app(world.state))
    async with httpx.AsyncClient(transport=transport) as browser:
        landed = await consent_via_http(browser, needed.value.authorization_url)
    await world.broker.complete_authorization(landed.params.get("state"), landed.params.get("code"))


async def test_revoke_person_deletes_revokes_drops_and_fails_closed(world: World) -> None:
    await _grant_legacy(world)
    legacy = await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    chat = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    refresh = world.broker.config.vault.get(REFRESH)
    assert refresh is not None

    report = await world.broker.revoke("person", "alice")

    assert report.vault_slots_deleted == 1
    assert report.cached_tokens_dropped == 3  # code-exchange token, refreshed token, chat token
    assert world.broker.config.vault.get(REFRESH) is None
    assert refresh.secret in world.state.revoked
    assert legacy.token in world.state.revoked
    assert report.revoked_at_app == 3  # the chat AS has no revocation endpoint
    assert report.not_revoked_at_app == 1
    assert chat.token not in world.state.revoked
    for app in ("legacy", "chat", "legacy-svc"):
        with pytest.raises(Revoked):
            await world.broker.access_token("alice", app, "chat.read", actor="summarizer")
    # client secrets are not the person's: they survive
    assert world.broker.config.vault.get(Slot(SecretKind.CLIENT_SECRET, "@client", "legacy"))
    assert world.broker.log()[-1].event == "revoke"


async def test_revoke_agent_only_hits_that_agent(world: World) -> None:
    mine = await world.broker.access_token("alice", "chat", "chat.read", actor="rogue")
    theirs = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    report = await world.broker.revoke("agent", "rogue")
    assert report.cached_tokens_dropped == 1
    with pytest.raises(Revoked):
        await world.broker.access_token("alice", "chat", "chat.read", actor="rogue")
    again = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    assert again is theirs and mine.token != theirs.token


async def test_revoke_agent_deletes_grants_it_obtained(world: World) -> None:
    await _grant_legacy(world, agent="rogue")
    report = await world.broker.revoke("agent", "rogue")
    assert report.vault_slots_deleted == 1
    assert world.broker.config.vault.get(REFRESH) is None


async def test_revoke_app_and_lift(world: World) -> None:
    await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    await world.broker.revoke("app", "chat")
    with pytest.raises(Revoked) as revoked:
        await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    assert revoked.value.target == "app:chat"
    assert world.broker.lift("app", "chat") is True
    token = await world.broker.access_token("alice", "chat", "chat.read", actor="summarizer")
    assert token.strategy == "xaa"
    assert world.state.idp_requests == 2  # the cached token was dropped, not reused


async def test_revocation_survives_a_new_broker_on_the_same_database(world: World) -> None:
    await world.broker.revoke("person", "alice")
    assert world.broker.config.revocations.targets() == [RevocationTarget("person", "alice")]
    assert SqliteRevocationList(world.db).targets() == [RevocationTarget("person", "alice")]


async def test_pending_authorizations_are_dropped(world: World) -> None:
    with pytest.raises(AuthorizationRequired):
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    report = await world.broker.revoke("person", "alice")
    assert report.pending_dropped == 1


def test_target_must_name_something() -> None:
    with pytest.raises(ConfigurationError):
        RevocationTarget("person", "")
    with pytest.raises(ConfigurationError):
        RevocationTarget("team", "x")  # type: ignore[arg-type]


async def test_unreachable_app_does_not_stop_the_kill_switch(world: World) -> None:
    await _grant_legacy(world)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    world.broker._http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    world.broker.flow.metadata = type(world.broker.flow.metadata)()  # forget cached metadata
    report = await world.broker.revoke("person", "alice")
    assert report.vault_slots_deleted == 1
    assert report.revoked_at_app == 0 and report.not_revoked_at_app == 2
    assert world.broker.config.vault.get(REFRESH) is None
    with pytest.raises(Revoked):
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")


async def test_tampered_vault_slot_is_still_deleted_by_the_kill_switch(world: World) -> None:
    await _grant_legacy(world)
    conn = sqlite3.connect(world.db, isolation_level=None)
    conn.execute("UPDATE xaa_broker_vault SET actor = 'forged' WHERE kind = 'refresh_token'")
    conn.close()
    world.broker.flow._cache.clear()
    with pytest.raises(VaultIntegrityError):
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    report = await world.broker.revoke("person", "alice")
    assert report.vault_slots_deleted == 1
    assert world.broker.config.vault.slots() == [
        (Slot(SecretKind.CLIENT_SECRET, "@client", n), None)
        for n in ("chat", "legacy", "legacy-svc")
    ]
