"""The Starlette callback route: state checked, code redeemed, refresh token vaulted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from tests.broker.broker_support import CALLBACK, World, build_app, consent_via_http
from xaa.adapters.starlette_broker import callback_route
from xaa.broker import AuthorizationRequired, SecretKind, Slot

pytestmark = pytest.mark.anyio
REFRESH = Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy")


@pytest.fixture
async def callback(world: World) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[callback_route(world.broker, "/callback")])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=CALLBACK[: -len("/callback")]) as c:
        yield c


async def _landed(world: World, decision: str = "allow") -> httpx.URL:
    with pytest.raises(AuthorizationRequired) as needed:
        await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert needed.value.authorization_url is not None
    transport = httpx.ASGITransport(app=build_app(world.state))
    async with httpx.AsyncClient(transport=transport) as browser:
        return await consent_via_http(browser, needed.value.authorization_url, decision=decision)


def _assert_error(response: httpx.Response, code: str, world: World) -> None:
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == code
    assert world.broker.config.vault.get(REFRESH) is None
    assert world.broker.log() == []


async def test_callback_completes_and_vaults(world: World, callback: httpx.AsyncClient) -> None:
    landed = await _landed(world)
    params = {**dict(landed.params), "iss": world.state.legacy}  # RFC 9207: right issuer
    response = await callback.get("/callback", params=params)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "Access to legacy granted" in response.text
    entry = world.broker.config.vault.get(REFRESH)
    assert entry is not None and entry.secret not in response.text
    (record,) = world.broker.log()
    assert record.fingerprint and record.fingerprint not in response.text
    token = await world.broker.access_token("alice", "legacy", "chat.read", actor="summarizer")
    assert token.fingerprint == record.fingerprint  # the exchange's token, from the cache


@pytest.mark.parametrize(
    "defect", ["wrong-state", "no-state", "repeated-state", "no-code", "wrong-iss", "missing-iss"]
)
async def test_callback_rejects_bad_state(
    world: World, callback: httpx.AsyncClient, defect: str
) -> None:
    world.state.advertise_iss = defect == "missing-iss"
    landed = await _landed(world)
    params: list[tuple[str, str]] = list(landed.params.multi_items())
    if defect == "wrong-iss":
        params.append(("iss", "http://127.0.0.1:9999/chat"))
    elif defect == "missing-iss":
        pass  # advertised but not sent
    elif defect == "wrong-state":
        params = [(k, "forged" if k == "state" else v) for k, v in params]
    elif defect == "no-state":
        params = [(k, v) for k, v in params if k != "state"]
    elif defect == "repeated-state":
        params.append(("state", "forged"))
    else:
        params = [(k, v) for k, v in params if k != "code"]
    response = await callback.get("/callback", params=params)
    _assert_error(response, "invalid_request", world)
    assert "authorization_code" not in world.state.grants


async def test_callback_with_bad_code_is_invalid_grant(
    world: World, callback: httpx.AsyncClient
) -> None:
    landed = await _landed(world)
    params = {**dict(landed.params), "code": "not-the-code"}
    response = await callback.get("/callback", params=params)
    _assert_error(response, "invalid_grant", world)
    assert "not-the-code" not in response.text


async def test_callback_consent_denied(world: World, callback: httpx.AsyncClient) -> None:
    landed = await _landed(world, decision="deny")
    response = await callback.get("/callback", params=dict(landed.params))
    _assert_error(response, "access_denied", world)
    # the state is consumed: replaying it with a code fails too
    again = await callback.get("/callback", params={"state": landed.params["state"], "code": "x"})
    _assert_error(again, "invalid_request", world)
