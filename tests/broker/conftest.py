"""Fixtures: the fake servers behind an ASGI transport and a broker on a temp SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.broker.broker_support import (
    BASE,
    BROKER_SECRET,
    CALLBACK,
    AsState,
    World,
    apps,
    build_app,
    idp_config,
    session_for,
)
from tests.support.redis import redis_url
from xaa.adapters.broker import Broker, Keyring
from xaa.broker import MemorySessions

__all__ = ["redis_url"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state() -> AsState:
    return AsState(BASE)


@pytest.fixture
async def world(state: AsState, tmp_path: Path) -> AsyncIterator[World]:
    keyring = Keyring.generate()
    db = tmp_path / "broker.sqlite3"
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(state)))
    sessions = MemorySessions({"alice": session_for(state, "alice")})
    broker = Broker.from_sqlite(
        db,
        apps(state, CALLBACK),
        keyring=keyring,
        idp=idp_config(state),
        sessions=sessions,
        http=http,
    )
    for name in ("chat", "legacy", "legacy-svc"):
        broker.set_client_secret(name, BROKER_SECRET)
    async with broker:
        yield World(state, broker, db, keyring)
