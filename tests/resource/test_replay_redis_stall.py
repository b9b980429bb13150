"""A hung or dead Redis fails its own redemptions (503) and never delays anything else."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from reference_resource import Settings, create_app
from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.redis import start_redis, stop_redis
from tests.support.servers import free_port, serve
from xaa import spec

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

AUTH = ("wiki-at-chat", "wiki-chat-secret")
REDIS_TIMEOUT = 1.0  # RedisReplayStore's default socket timeout


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


@pytest.fixture
def redis_port() -> int:
    return free_port()


@pytest.fixture
def chat_on_redis(
    idp: LoopbackIdp, tmp_path: Path, redis_port: int
) -> Iterator[tuple[str, list[int]]]:
    """The chat app on its own Redis; yields its base URL and ``[redis pid]`` (mutable)."""
    url, proc = start_redis(redis_port)
    pids = [proc.pid]
    port = free_port()
    settings = Settings.make(
        port=port,
        db=str(tmp_path / "chat.db"),
        trust_idps=[idp.issuer],
        idp_email_domains=[(idp.issuer, "acme.example")],
        replay=url,
    )
    try:
        with serve(create_app(settings), port) as base:
            yield base, pids
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
        stop_redis(proc)


async def _redeem(client: httpx.AsyncClient, base: str, idp: LoopbackIdp) -> httpx.Response:
    jag = idp.id_jag(base, "wiki-at-chat")
    data = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}
    return await client.post(base + "/token", data=data, auth=AUTH)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.anyio
async def test_hung_redis_fails_its_redemptions_without_stalling_the_app(
    chat_on_redis: tuple[str, list[int]], idp: LoopbackIdp
) -> None:
    base, pids = chat_on_redis
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await _redeem(client, base, idp)).status_code == 200  # keys cached
        os.kill(pids[0], signal.SIGSTOP)
        try:
            elapsed: list[float] = []
            responses: list[httpx.Response] = []
            metadata_wait: list[float] = []

            async def redeem() -> None:
                start = time.monotonic()
                responses.append(await _redeem(client, base, idp))
                elapsed.append(time.monotonic() - start)

            async def metadata() -> None:
                await anyio.sleep(0.3)  # while every redemption waits on Redis
                start = time.monotonic()
                got = await client.get(base + "/.well-known/oauth-authorization-server")
                metadata_wait.append(time.monotonic() - start)
                assert got.status_code == 200

            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(redeem)
                group.start_soon(metadata)
            for response in responses:
                _assert_unavailable(response)
            # Each fails within its own timeout; serialized they would take 1, 2, ... 8 s.
            assert max(elapsed) < REDIS_TIMEOUT * 3, elapsed
            assert metadata_wait[0] < 0.5, metadata_wait
        finally:
            os.kill(pids[0], signal.SIGCONT)
        assert (await _redeem(client, base, idp)).status_code == 200  # recovered


@pytest.mark.anyio
async def test_dead_redis_answers_503_then_recovers(
    chat_on_redis: tuple[str, list[int]], idp: LoopbackIdp, redis_port: int
) -> None:
    base, pids = chat_on_redis
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await _redeem(client, base, idp)).status_code == 200
        os.kill(pids[0], signal.SIGTERM)
        await anyio.sleep(0.3)
        _assert_unavailable(await _redeem(client, base, idp))
        _, restarted = start_redis(redis_port)
        try:
            assert (await _redeem(client, base, idp)).status_code == 200
        finally:
            stop_redis(restarted)
