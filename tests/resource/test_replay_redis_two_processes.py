"""Two chat server processes sharing Redis: one ID-JAG presented 100 times at once wins once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.servers import free_port
from xaa import spec

pytestmark = [pytest.mark.redis, pytest.mark.e2e]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _start(port: int, issuer: str, db: Path, redis_url: str, idp: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xaa",
            "resource",
            "serve",
            "--port",
            str(port),
            "--issuer",
            issuer,
            "--db",
            str(db),
            "--replay",
            redis_url,
            "--trust-idp",
            idp,
            "--idp-email-domain",
            f"{idp}=acme.example",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            if httpx.get(base + "/jwks.json").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


@pytest.fixture
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


@pytest.fixture
def two_servers(
    redis_url: str, idp: LoopbackIdp, tmp_path: Path
) -> Iterator[tuple[str, list[str]]]:
    issuer = "http://127.0.0.1:1"  # one logical AS behind two processes
    ports = [free_port(), free_port()]
    procs = [
        _start(p, issuer, tmp_path / f"s{i}.db", redis_url, idp.issuer) for i, p in enumerate(ports)
    ]
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base, proc in zip(bases, procs, strict=True):
            _wait(base, proc)
        yield issuer, bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


@pytest.mark.anyio
async def test_single_use_across_processes(
    two_servers: tuple[str, list[str]], idp: LoopbackIdp
) -> None:
    issuer, bases = two_servers
    jag = idp.id_jag(issuer, "wiki-at-chat")
    data = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag}
    auth = ("wiki-at-chat", "wiki-chat-secret")
    # Warm both servers' key caches so all 100 requests race on the replay store only.
    for base in bases:
        warm = idp.id_jag(issuer, "wiki-at-chat")
        async with httpx.AsyncClient() as client:
            assert (
                await client.post(base + "/token", data={**data, "assertion": warm}, auth=auth)
            ).status_code == 200
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def present(i: int) -> None:
            response = await client.post(bases[i % 2] + "/token", data=data, auth=auth)
            statuses.append(response.status_code)
            if response.status_code != 200:
                assert response.json()["error"] == "invalid_grant"

        async with anyio.create_task_group() as group:
            for i in range(100):
                group.start_soon(present, i)
    assert len(statuses) == 100
    assert statuses.count(200) == 1
