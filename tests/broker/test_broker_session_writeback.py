"""A refreshed ID token and a rotated IdP refresh token obtained on the XAA leg are written back
to a ``SessionStore`` (the vault), so the next call does not present a spent refresh token."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_idp.demo import WIKI, WIKI_SECRET
from tests.broker.reference_stack import alice_session, reference_stack
from xaa.adapters.broker import Broker, Keyring, VaultSessions, sqlite_config
from xaa.broker import AppConfig, SessionStore, Strategy
from xaa.client import ClientCredentials, IdentitySession, IdpConfig

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_refreshed_idp_session_is_written_back_to_the_vault(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        signed_in = alice_session(stack)
        assert signed_in.refresh_token is not None
        idp = IdpConfig(
            stack.idp,
            ClientCredentials.secret_basic(WIKI, WIKI_SECRET),
            refresh_token_as_subject=False,  # the ID token is refreshed at the IdP first
        )
        keyring = Keyring.generate()
        apps = [AppConfig("chat", stack.chat, stack.chat + "/api", "wiki-at-chat")]
        sessions = VaultSessions(
            sqlite_config(tmp_path / "broker.sqlite3", apps, keyring=keyring).vault
        )
        assert isinstance(sessions, SessionStore)
        sessions.keep(
            "alice",
            IdentitySession(refresh_token=signed_in.refresh_token, subject=signed_in.subject),
        )
        config = sqlite_config(
            tmp_path / "broker.sqlite3", apps, keyring=keyring, idp=idp, sessions=sessions
        )
        async with Broker(config) as broker:
            broker.set_client_secret("chat", "wiki-chat-secret")
            first = await broker.access_token("alice", "chat", "chat.read", actor="a")
            kept = sessions.session("alice")
            assert kept is not None and kept.id_token is not None  # the refreshed ID token
            second = await broker.access_token("alice", "chat", "chat.read", actor="b")
        assert first.strategy == second.strategy == Strategy.XAA
