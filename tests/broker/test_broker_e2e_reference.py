"""End to end over loopback: the reference IdP, the chat app (XAA), the legacy chat app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.broker.reference_stack import (
    callback_server,
    consent_like_a_browser,
    reference_stack,
    stack_broker,
)
from xaa.broker import AuthorizationRequired, BlockedByPolicy, Revoked, Strategy

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


async def test_both_paths_one_interface(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        async with stack_broker(stack) as broker, callback_server(broker, stack.callback):
            # chat: XAA, discovered
            chat = await broker.access_token("alice", "chat", "chat.read", actor="summarizer")
            assert chat.strategy == Strategy.XAA
            async with httpx.AsyncClient() as api:
                listed = await api.get(
                    stack.chat + "/api/channels", headers={"authorization": chat.authorization()}
                )
            assert listed.status_code == 200

            # a policy denial at the IdP: blocked, never an OAuth fallback
            with pytest.raises(BlockedByPolicy) as blocked:
                await broker.access_token("alice", "chat", "chat.admin", actor="summarizer")
            assert blocked.value.where == "IdP"
            assert blocked.value.error in ("invalid_scope", "access_denied", "invalid_target")
            # which IdP: the message and the JSON name it (they said only "IdP")
            assert blocked.value.issuer == stack.idp and stack.idp in str(blocked.value)
            assert blocked.value.to_json()["issuer"] == stack.idp

            # legacy chat: no XAA -> authorization URL -> login + consent -> callback
            with pytest.raises(AuthorizationRequired) as needed:
                await broker.access_token(
                    "alice", "legacy-chat", "chat.read chat.write", actor="summarizer"
                )
            assert needed.value.authorization_url is not None
            async with httpx.AsyncClient(follow_redirects=False) as browser:
                landed = await consent_like_a_browser(browser, needed.value.authorization_url)
            assert landed.status_code == 200, landed.text
            assert "Access to legacy-chat granted" in landed.text

            # later calls refresh, downscoped to the subset asked for
            legacy = await broker.access_token(
                "alice", "legacy-chat", "chat.read", actor="summarizer"
            )
            assert legacy.strategy == Strategy.AUTHORIZATION_CODE
            assert legacy.access.scopes == {"chat.read"}
            async with httpx.AsyncClient() as api:
                listed = await api.get(
                    stack.legacy + "/api/channels",
                    headers={"authorization": legacy.authorization()},
                )
                assert listed.status_code == 200
                posted = await api.post(
                    stack.legacy + "/api/channels/general/messages",
                    json={"text": "downscoped"},
                    headers={"authorization": legacy.authorization()},
                )
                assert posted.status_code == 403  # chat.write was not in the downscoped token

            # attribution: who acted and how
            mints = [r for r in broker.log() if r.event == "mint"]
            assert [(r.person, r.agent, r.app, r.strategy) for r in mints] == [
                ("alice", "summarizer", "chat", "xaa"),
                ("alice", "summarizer", "legacy-chat", "authorization_code"),
                ("alice", "summarizer", "legacy-chat", "authorization_code"),
            ]

            # kill switch: RFC 7009 at the legacy app, the refresh token is dead there
            report = await broker.revoke("person", "alice")
            assert report.vault_slots_deleted == 1
            assert report.revoked_at_app >= 2
            async with httpx.AsyncClient() as api:
                after = await api.get(
                    stack.legacy + "/api/channels",
                    headers={"authorization": legacy.authorization()},
                )
            assert after.status_code == 401
            for app in ("chat", "legacy-chat"):
                with pytest.raises(Revoked):
                    await broker.access_token("alice", app, "chat.read", actor="summarizer")
