"""The async store path: replay claims stated by the core, awaited by the Starlette adapter.

The jwt-bearer steps yield their replay claims (:class:`xaa._replay.ReplayClaim`); the
adapter awaits them on an :class:`xaa._replay.AsyncReplayStore`, runs the steps on the
event loop when every store never blocks, and in a worker thread otherwise.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.resource.resource_kit import CLIENT, SECRET, TOKEN_URL, DictClients, Kit, make_kit
from xaa import DpopVerifier, RegisteredClient, spec
from xaa._replay import ReplayClaim, ReplayStoreUnavailable, never_blocks, run_claims
from xaa.adapters.starlette import BlockingCalls, JwksFetcher, token_route
from xaa.dpop import DpopKey, make_proof
from xaa.stores import MemoryReplayStore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class AsyncOnlyReplay:
    """An async replay store whose blocking ``claim`` must never be called."""

    def __init__(self) -> None:
        self.memory = MemoryReplayStore()
        self.awaited: list[str] = []
        self.hang: asyncio.Event | None = None
        self.down = False

    def claim(self, *args: Any, **kwargs: Any) -> str | None:
        raise AssertionError("the blocking claim was called from the async path")

    async def claim_async(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        self.awaited.append(namespace)
        if self.hang is not None:
            await self.hang.wait()
        if self.down:
            raise ReplayStoreUnavailable("down")
        return self.memory.claim(
            namespace, issuer, jti, holder=holder, expires_at=expires_at, now=now
        )


class ThreadRecordingClients(DictClients):
    """A client store that records the thread of each lookup."""

    def __init__(self, *, in_memory: bool) -> None:
        super().__init__(RegisteredClient.with_secret(CLIENT, SECRET))
        self.never_blocks = in_memory
        self.threads: list[int] = []

    def get_client(self, client_id: str) -> RegisteredClient | None:
        self.threads.append(threading.get_ident())
        return super().get_client(client_id)


def _jag(kit: Kit, jti: str, **changes: Any) -> str:
    now = int(time.time())
    return kit.jag(jti=jti, iat=now - 10, exp=now + 290, **changes)


def _app(kit: Kit, calls: BlockingCalls | None = None) -> Starlette:
    async def ping(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("pong")

    return Starlette(
        routes=[token_route(kit.endpoint, JwksFetcher(), calls=calls), Route("/ping", ping)]
    )


async def _redeem(
    client: httpx.AsyncClient, assertion: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    data = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion}
    return await client.post("/token", data=data, auth=(CLIENT, SECRET), headers=headers)


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://as")


def _assert_refused(response: httpx.Response, status: int, error: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in response.json()


@pytest.mark.anyio
async def test_async_replay_store_claims_are_awaited_and_a_replay_is_refused() -> None:
    replay = AsyncOnlyReplay()
    kit = make_kit(replay)  # type: ignore[arg-type]
    jag = _jag(kit, "once")
    async with _client(_app(kit)) as client:
        assert (await _redeem(client, jag)).status_code == 200
        again = await _redeem(client, jag)
    _assert_refused(again, 400, "invalid_grant")
    assert again.json()["error_description"] == "The ID-JAG was already used."
    assert replay.awaited == ["id-jag", "id-jag"]


@pytest.mark.anyio
async def test_async_replay_store_unavailable_is_503_and_audited() -> None:
    replay = AsyncOnlyReplay()
    replay.down = True
    kit = make_kit(replay)  # type: ignore[arg-type]
    async with _client(_app(kit)) as client:
        response = await _redeem(client, _jag(kit, "down"))
    _assert_refused(response, 503, "temporarily_unavailable")
    assert kit.audit.events[-1].decision == "denied"
    assert kit.audit.events[-1].reason.startswith("temporarily_unavailable")


@pytest.mark.anyio
async def test_hung_async_replay_store_fails_its_redemptions_and_delays_nothing_else() -> None:
    replay = AsyncOnlyReplay()
    replay.hang = asyncio.Event()  # never set: the claim hangs until the bound
    kit = make_kit(replay)  # type: ignore[arg-type]
    finished: list[str] = []
    responses: list[httpx.Response] = []
    async with _client(_app(kit, BlockingCalls(timeout=0.5))) as client:

        async def redeem(i: int) -> None:
            responses.append(await _redeem(client, _jag(kit, f"hung-{i}")))
            finished.append("redeem")

        async def ping() -> None:
            while len(replay.awaited) < 4:  # every redemption is waiting on the store
                await anyio.sleep(0.01)
            assert (await client.get("/ping")).text == "pong"
            finished.append("ping")

        async with anyio.create_task_group() as group:
            for i in range(4):
                group.start_soon(redeem, i)
            group.start_soon(ping)
    assert finished[0] == "ping"  # answered while every redemption still waited
    for response in responses:
        _assert_refused(response, 503, "temporarily_unavailable")


@pytest.mark.anyio
async def test_dpop_proof_replayed_through_the_async_path_is_refused() -> None:
    replay = AsyncOnlyReplay()
    kit = make_kit(replay, dpop=DpopVerifier(replay))  # type: ignore[arg-type]
    key = DpopKey.generate()
    proof = make_proof(key, "POST", TOKEN_URL)
    first = _jag(kit, "bound-1", cnf={"jkt": key.jkt})
    second = _jag(kit, "bound-2", cnf={"jkt": key.jkt})
    async with _client(_app(kit)) as client:
        ok = await _redeem(client, first, {"dpop": proof})
        replayed = await _redeem(client, second, {"dpop": proof})
    assert ok.status_code == 200 and ok.json()["token_type"] == "DPoP"
    _assert_refused(replayed, 400, "invalid_dpop_proof")
    assert replay.awaited == ["dpop", "id-jag", "dpop"]


@pytest.mark.anyio
@pytest.mark.parametrize("in_memory", [True, False])
async def test_steps_run_on_the_loop_only_when_every_store_never_blocks(in_memory: bool) -> None:
    kit = make_kit()
    clients = ThreadRecordingClients(in_memory=in_memory)
    kit.endpoint.clients = clients
    loop_thread = threading.get_ident()
    async with _client(_app(kit)) as client:
        assert (await _redeem(client, _jag(kit, f"thread-{in_memory}"))).status_code == 200
    assert kit.endpoint.never_blocks is in_memory
    assert clients.threads
    assert (set(clients.threads) == {loop_thread}) is in_memory


def test_run_claims_raises_a_store_failure_into_the_flow() -> None:
    class Down:
        def claim(self, *args: Any, **kwargs: Any) -> str | None:
            raise ReplayStoreUnavailable("down")

    def flow() -> Any:
        try:
            yield ReplayClaim(Down(), "id-jag", "iss", "jti", "holder", 10.0, 1.0)  # type: ignore[arg-type]
        except Exception as exc:  # the flow sees the 503 and answers for itself
            return type(exc).__name__
        return "claimed"

    assert run_claims(flow()) == "TemporarilyUnavailable"


def test_only_stores_that_declare_it_never_block() -> None:
    assert never_blocks(MemoryReplayStore(), DictClients()) is False
    assert never_blocks(MemoryReplayStore()) is True


@pytest.mark.redis
@pytest.mark.anyio
async def test_async_redis_store_claims_a_key_exactly_once_under_concurrency() -> None:
    from tests.support.redis import start_redis, stop_redis
    from xaa.adapters.redis_store import AsyncRedisReplayStore

    url, proc = start_redis()
    store = AsyncRedisReplayStore(url)
    now = time.time()
    try:
        results = await asyncio.gather(
            *(
                store.claim_async(
                    "id-jag", "iss", "j1", holder=f"h{i}", expires_at=now + 60, now=now
                )
                for i in range(20)
            )
        )
        assert results.count(None) == 1
        winner = f"h{results.index(None)}"
        assert set(results) == {None, winner}
        # The blocking API sees the same key (same layout, same server).
        assert (
            store.claim("id-jag", "iss", "j1", holder="x", expires_at=now + 60, now=now) == winner
        )
    finally:
        await store.aclose()
        store.close()
        stop_redis(proc)


@pytest.mark.redis
@pytest.mark.anyio
async def test_async_redis_store_pipelined_connection_selects_its_db_and_fails_closed() -> None:
    from tests.support.redis import start_redis, stop_redis
    from xaa.adapters.redis_store import AsyncRedisReplayStore

    url, proc = start_redis()
    store = AsyncRedisReplayStore(url.rsplit("/", 1)[0] + "/3")
    now = time.time()
    try:
        assert (
            await store.claim_async("ns", "iss", "j", holder="h", expires_at=now + 60, now=now)
            is None
        )
        # The blocking client (same URL, same db) sees the key the pipelined one set.
        assert store.claim("ns", "iss", "j", holder="x", expires_at=now + 60, now=now) == "h"
        store._redis.lpush(store._key("ns", "iss", "list"), "x")  # a key of the wrong type
        with pytest.raises(ReplayStoreUnavailable):  # Redis's error reply: fail closed
            await store.claim_async("ns", "iss", "list", holder="h", expires_at=now + 60, now=now)
        stop_redis(proc)
        with pytest.raises(ReplayStoreUnavailable):  # the connection is gone
            await store.claim_async("ns", "iss", "k", holder="h", expires_at=now + 60, now=now)
    finally:
        await store.aclose()
        store.close()
        if proc.poll() is None:
            stop_redis(proc)
