"""``SyncBroker``: the same sans-I/O flow as the async ``Broker``, driven by blocking httpx.

Against the real reference apps: XAA for chat, the authorization code fallback for the
legacy chat app (consent by hand, the callback's query handed to ``complete_authorization``),
then a refresh-based mint, each attributed in the log."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reference_idp.demo import WIKI, WIKI_SECRET
from tests.broker.reference_stack import (
    LEGACY_PASSWORD,
    LEGACY_USER,
    alice_session,
    reference_stack,
)
from xaa import InvalidRequest, spec
from xaa.adapters.broker import Keyring, SyncBroker
from xaa.broker import AppConfig, AuthorizationRequired, MemorySessions, Strategy
from xaa.client import ClientCredentials, IdpConfig

pytestmark = [pytest.mark.e2e]


def _consent(url: str) -> dict[str, str]:
    with httpx.Client(timeout=10) as http:
        page = http.get(url)
        pending = re.search(r"name='pending' value='([^']+)'", page.text)
        assert pending is not None
        base = url.split("/authorize")[0]
        form = {"pending": pending.group(1), "username": LEGACY_USER, "password": LEGACY_PASSWORD}
        http.post(base + "/login", data=form)
        answer = http.post(
            base + "/consent", data={"pending": pending.group(1), "decision": "allow"}
        )
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def test_sync_broker_runs_the_shared_flow(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        apps = [
            AppConfig("chat", stack.chat, stack.chat + "/api", "wiki-at-chat"),
            AppConfig(
                "legacy-chat",
                stack.legacy,
                stack.legacy + "/api",
                "agent-at-chat",
                auth_method=spec.AUTH_CLIENT_SECRET_POST,
                redirect_uri=stack.callback,
            ),
        ]
        broker = SyncBroker.from_sqlite(
            tmp_path / "broker.sqlite3",
            apps,
            keyring=Keyring.generate(),
            idp=IdpConfig(stack.idp, ClientCredentials.secret_basic(WIKI, WIKI_SECRET)),
            sessions=MemorySessions({"alice": alice_session(stack)}),
        )
        with broker:
            broker.set_client_secret("chat", "wiki-chat-secret")
            broker.set_client_secret("legacy-chat", "agent-chat-secret")
            assert broker.strategy("chat") == Strategy.XAA
            assert broker.strategy("legacy-chat") == Strategy.AUTHORIZATION_CODE
            tokens = []

            def mint() -> None:
                tokens.append(broker.access_token("alice", "chat", "chat.read", actor="bot"))

            threads = [threading.Thread(target=mint) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len({t.fingerprint for t in tokens}) == 1  # single flight: one exchange
            with pytest.raises(AuthorizationRequired) as needed:
                broker.access_token("alice", "legacy-chat", "chat.read", actor="bot")
            assert needed.value.authorization_url is not None
            answer = _consent(needed.value.authorization_url)
            with pytest.raises(InvalidRequest, match="Unknown or expired"):
                broker.complete_authorization(answer["state"], answer["code"], person="bob")
            with pytest.raises(AuthorizationRequired) as needed_again:
                broker.access_token("alice", "legacy-chat", "chat.read", actor="bot")
            assert needed_again.value.authorization_url is not None
            answer = _consent(needed_again.value.authorization_url)
            done = broker.complete_authorization(
                answer["state"], answer["code"], answer.get("iss"), person="alice"
            )
            assert done.strategy == Strategy.AUTHORIZATION_CODE
            again = broker.access_token("alice", "legacy-chat", "chat.read", actor="other")
            assert again.strategy == Strategy.AUTHORIZATION_CODE
            minted = [(r.app, r.strategy) for r in broker.log() if r.event == "mint"]
            assert minted == [
                ("chat", "xaa"),
                ("legacy-chat", "authorization_code"),
                ("legacy-chat", "authorization_code"),
            ]
            assert broker.forget_grant("alice", "legacy-chat") is True  # RFC 7009 at the app
            with pytest.raises(AuthorizationRequired):
                broker.access_token("alice", "legacy-chat", "chat.read", actor="other")
            assert broker.forget_grant("alice", "legacy-chat") is False  # nothing left
