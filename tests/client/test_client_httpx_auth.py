"""Single flight (threads and tasks) and XAAAuth on httpx and httpx2, sync and async."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import anyio
import httpx
import httpx2
import pytest

from tests.client.client_support import RESOURCE, Clock, World, config, session
from xaa import ConfigurationError
from xaa.adapters import httpx2_client, httpx_client
from xaa.client import StepUpRequired

ADAPTERS = {httpx: httpx_client, httpx2: httpx2_client}
API = "https://api.example/api/data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def async_transport(world: World) -> Any:
    async def handle(request: Any) -> Any:
        await anyio.sleep(0.01)  # let the other tasks pile up behind the lock
        return world.handle(request)

    return world.module.MockTransport(handle)


@pytest.mark.parametrize("module", [httpx, httpx2])
def test_single_flight_threads(module: ModuleType) -> None:
    world = World(Clock(), module=module)
    slow = threading.Event()

    def handle(request: Any) -> Any:
        slow.wait(0.01)
        return world.handle(request)

    adapter = ADAPTERS[module]
    client = adapter.XAAClient(
        config(world.clock),
        session=session(world.clock),
        http=module.Client(transport=module.MockTransport(handle)),
    )
    with ThreadPoolExecutor(50) as pool:
        tokens = list(pool.map(lambda _: client.get_token(RESOURCE, "chat.read"), range(50)))
    assert world.exchanges() == 1 and len(world.issued) == 1
    assert {t.token for t in tokens} == {"at-0"}


@pytest.mark.anyio
@pytest.mark.parametrize("module", [httpx, httpx2])
async def test_single_flight_tasks(module: ModuleType) -> None:
    world = World(Clock(), module=module)
    adapter = ADAPTERS[module]
    client = adapter.AsyncXAAClient(
        config(world.clock),
        session=session(world.clock),
        http=module.AsyncClient(transport=async_transport(world)),
    )
    tokens: list[Any] = []

    async def one() -> None:
        tokens.append(await client.get_token(RESOURCE, "chat.read"))

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(one)
    await client.aclose()
    assert world.exchanges() == 1 and len(world.issued) == 1
    assert {t.token for t in tokens} == {"at-0"}


def sync_call(module: ModuleType, world: World, scope: str = "chat.read") -> tuple[Any, Any]:
    adapter = ADAPTERS[module]
    token_http = module.Client(transport=world.transport())
    xaa_client = adapter.XAAClient(
        config(world.clock), session=session(world.clock), http=token_http
    )
    auth = adapter.XAAAuth(xaa_client, resource=RESOURCE, scope=scope)
    with module.Client(transport=world.transport(), auth=auth) as api:
        return api.get(API), auth


async def async_call(module: ModuleType, world: World, scope: str = "chat.read") -> tuple[Any, Any]:
    adapter = ADAPTERS[module]
    token_http = module.AsyncClient(transport=world.transport())
    xaa_client = adapter.AsyncXAAClient(
        config(world.clock), session=session(world.clock), http=token_http
    )
    auth = adapter.XAAAuth(xaa_client, resource=RESOURCE, scope=scope)
    async with module.AsyncClient(transport=world.transport(), auth=auth) as api:
        return await api.get(API), auth


async def call(mode: str, module: ModuleType, world: World) -> tuple[Any, Any]:
    if mode == "sync":
        return sync_call(module, world)
    return await async_call(module, world)


MODES = [(m, mode) for m in (httpx, httpx2) for mode in ("sync", "async")]


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
async def test_auth_happy_path(module: ModuleType, mode: str) -> None:
    world = World(Clock(), module=module)
    response, _ = await call(mode, module, world)
    assert response.status_code == 200
    assert world.seen_authorization == ["Bearer at-0"]


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
async def test_auth_401_drops_the_token_and_retries_once(module: ModuleType, mode: str) -> None:
    world = World(Clock(), module=module)
    world.rs_script = [(401, 'Bearer error="invalid_token"'), (401, 'Bearer error="invalid_token"')]
    response, _ = await call(mode, module, world)
    assert response.status_code == 401  # retried once, then the answer is returned
    assert world.seen_authorization == ["Bearer at-0", "Bearer at-1"]


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
async def test_auth_403_insufficient_scope_unions_scopes(module: ModuleType, mode: str) -> None:
    world = World(Clock(), module=module)
    world.rs_script = [(403, 'Bearer error="insufficient_scope", scope="chat.write"')]
    response, auth = await call(mode, module, world)
    assert response.status_code == 200
    assert world.seen_authorization == ["Bearer at-0", "Bearer at-1"]
    assert world.forms[-1]["scope"] == "chat.read chat.write"
    assert auth.scope == frozenset({"chat.read", "chat.write"})


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
async def test_auth_403_other_error_is_returned(module: ModuleType, mode: str) -> None:
    world = World(Clock(), module=module)
    world.rs_script = [(403, 'Bearer error="insufficient_scope", scope="chat.read"')]
    response, _ = await call(mode, module, world)
    assert response.status_code == 403 and len(world.seen_authorization) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES)
async def test_auth_step_up(module: ModuleType, mode: str) -> None:
    world = World(Clock(), module=module)
    world.rs_script = [
        (401, 'Bearer error="insufficient_user_authentication", max_age="60", acr_values="mfa"')
    ]
    with pytest.raises(StepUpRequired) as caught:
        await call(mode, module, world)
    assert (caught.value.max_age, caught.value.acr_values) == (60, "mfa")


def test_auth_reuses_the_cached_token() -> None:
    world = World(Clock())
    token_http = httpx.Client(transport=world.transport())
    xaa_client = httpx_client.XAAClient(
        config(world.clock), session=session(world.clock), http=token_http
    )
    auth = httpx_client.XAAAuth(xaa_client, resource=RESOURCE, scope="chat.read")
    with httpx.Client(transport=world.transport(), auth=auth) as api:
        for _ in range(3):
            assert api.get(API).status_code == 200
    assert world.exchanges() == 1 and world.seen_authorization == ["Bearer at-0"] * 3


def redirecting_to_admin(world: World) -> Any:
    """The resource answers ``/api/data`` with a same-origin redirect out of its path."""

    def handle(request: Any) -> Any:
        if request.url.path == "/api/data":
            world.handle(request)  # records the Authorization the resource saw
            return world.module.Response(302, headers={"location": "/admin"})
        if request.url.path == "/admin":
            world.seen_authorization.append("admin: " + request.headers.get("authorization", ""))
            return world.module.Response(200, json={"admin": True})
        return world.handle(request)

    return world.module.MockTransport(handle)


@pytest.mark.parametrize("module", [httpx, httpx2])
def test_token_not_sent_along_a_redirect_out_of_the_resource_path(module: ModuleType) -> None:
    """httpx copies ``Authorization`` into a same-origin ``next_request``; sending it through
    the same client must not carry the token to ``/admin`` (RFC 6750 §5.3, docs/client.md)."""
    world = World(Clock(), module=module)
    transport = redirecting_to_admin(world)
    xaa_client = ADAPTERS[module].XAAClient(
        config(world.clock), session=session(world.clock), http=module.Client(transport=transport)
    )
    auth = ADAPTERS[module].XAAAuth(xaa_client, resource=RESOURCE, scope="chat.read")
    with module.Client(transport=transport, auth=auth) as http:
        moved = http.get(API)
        assert moved.status_code == 302 and moved.next_request is not None
        assert moved.next_request.headers.get("authorization", "").startswith("Bearer ")
        assert http.send(moved.next_request).json() == {"admin": True}
    assert world.seen_authorization[0].startswith("Bearer ")
    assert world.seen_authorization[1:] == ["admin: "]


@pytest.mark.parametrize("module", [httpx, httpx2])
def test_idp_down_under_xaa_auth_names_the_hop_not_only_the_api(module: ModuleType) -> None:
    """The agent's ``http.get(api)`` fails because the IdP is down: the transport error keeps
    its type and says which hop and URL failed, so it is not mistaken for the API."""
    world = World(Clock(), module=module)

    def idp_down(request: Any) -> Any:
        if request.url.host == "idp.example":
            raise module.ConnectError("[Errno 111] Connection refused", request=request)
        return world.handle(request)

    transport = module.MockTransport(idp_down)
    xaa_client = ADAPTERS[module].XAAClient(
        config(world.clock), session=session(world.clock), http=module.Client(transport=transport)
    )
    auth = ADAPTERS[module].XAAAuth(xaa_client, resource=RESOURCE, scope="chat.read")
    with (
        module.Client(transport=transport, auth=auth) as http,
        pytest.raises(module.ConnectError) as caught,
    ):
        http.get(API)
    assert caught.value.__notes__ == [
        "xaa: discovery at https://idp.example/.well-known/oauth-authorization-server"
    ]


def test_xaa_auth_without_a_session_says_where_to_pass_one() -> None:
    world = World(Clock())
    auth = httpx_client.XAAAuth(config(world.clock), resource=RESOURCE, scope="chat.read")
    refused = pytest.raises(ConfigurationError, match="pass session= to the XAAClient, the XAAAuth")
    with httpx.Client(transport=world.transport(), auth=auth) as http, refused:
        http.get(API)
    assert world.calls == {}  # nothing was sent
