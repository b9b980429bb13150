"""BlockingCalls: store calls off the event loop, each bounded in time."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from xaa import TemporarilyUnavailable
from xaa.adapters.starlette import BlockingCalls


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_store_call_past_its_bound_is_503_and_the_loop_stays_free() -> None:
    calls = BlockingCalls(timeout=0.2)
    release = threading.Event()
    ticks: list[float] = []

    async def tick() -> None:
        for _ in range(5):
            ticks.append(time.monotonic())
            await anyio.sleep(0.02)

    refused: list[TemporarilyUnavailable] = []

    async def blocked() -> None:
        try:
            await calls.run(lambda: release.wait(5))
        except TemporarilyUnavailable as exc:
            refused.append(exc)

    start = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        group.start_soon(blocked)
    release.set()
    assert time.monotonic() - start < 1.0
    assert len(ticks) == 5  # the loop ran while the call blocked
    response = refused[0].to_response()
    assert response.status == 503 and response.headers["cache-control"] == "no-store"
    assert refused[0].error == "temporarily_unavailable"


@pytest.mark.anyio
async def test_a_store_call_returns_its_value() -> None:
    assert await BlockingCalls().run(lambda: 42) == 42
