"""What a person's pages ask of the broker without I/O: a declined consent and a withdrawn
agent (``decline_authorization``, ``withdraw_agent``), the same on both drivers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from xaa.adapters.broker import Broker, Keyring, SyncBroker
from xaa.broker import (
    AppConfig,
    BrokerCacheKey,
    BrokeredToken,
    Strategy,
    authorization_request,
    token_fingerprint,
)
from xaa.client import AccessToken

AS = "https://legacy.example"


def _brokers(tmp_path: Path) -> list[Broker | SyncBroker]:
    apps = [AppConfig("legacy", AS, AS + "/api", "broker", redirect_uri="https://b.example/cb")]
    keyring = Keyring.generate()
    return [
        Broker.from_sqlite(tmp_path / "async.sqlite3", apps, keyring=keyring),
        SyncBroker.from_sqlite(tmp_path / "sync.sqlite3", apps, keyring=keyring),
    ]


def _pending(broker: Broker | SyncBroker, agent: str) -> str:
    pending = authorization_request(
        AS + "/authorize",
        client_id="broker",
        redirect_uri="https://b.example/cb",
        resource=AS + "/api",
        scopes=frozenset({"chat.read"}),
        person="alice",
        agent=agent,
        app="legacy",
        now=time.time(),
    )
    broker.flow.pending.add(pending, time.time())
    return pending.state


def _cache(broker: Broker | SyncBroker, agent: str) -> None:
    access = AccessToken("t-" + agent, "Bearer", time.time() + 600, frozenset(), AS + "/api", AS)
    minted = BrokeredToken(
        access, "alice", agent, "legacy", Strategy.AUTHORIZATION_CODE, frozenset(),
        token_fingerprint(access.token),
    )  # fmt: skip
    broker.flow._cache[BrokerCacheKey("alice", agent, "legacy", frozenset())] = minted


@pytest.mark.parametrize("which", [0, 1])
def test_declined_consent_forgets_the_pending_request_once(tmp_path: Path, which: int) -> None:
    broker = _brokers(tmp_path)[which]
    state = _pending(broker, "bot")
    assert broker.decline_authorization(state) is True
    assert broker.decline_authorization(state) is False  # gone: a replayed callback finds nothing
    assert broker.decline_authorization(None) is False


@pytest.mark.parametrize("which", [0, 1])
def test_withdrawn_agent_loses_its_pending_requests_and_cached_tokens(
    tmp_path: Path, which: int
) -> None:
    broker = _brokers(tmp_path)[which]
    bot_state, other_state = _pending(broker, "bot"), _pending(broker, "other")
    _cache(broker, "bot")
    _cache(broker, "other")
    broker.withdraw_agent("alice", "bot")
    assert broker.decline_authorization(bot_state) is False
    assert broker.decline_authorization(other_state) is True  # another agent's stays
    assert broker.flow.cached("alice", "legacy", frozenset(), "bot") is None
    assert broker.flow.cached("alice", "legacy", frozenset(), "other") is not None
