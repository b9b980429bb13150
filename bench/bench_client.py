"""XAAAuth overhead: a cached-token request vs a bare httpx request, same server, same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.common import Figure
from tests.support.servers import serve
from xaa import SigningKey
from xaa.adapters.httpx_client import XAAAuth, XAAClient
from xaa.client import (
    AccessToken,
    CacheKey,
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
)

AS = "http://127.0.0.1:9"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def paired_us(
    bare: Callable[[], object], authed: Callable[[], object], pairs: int = 3000
) -> tuple[float, float, float]:
    """Medians of bare and authed calls, and of their per-pair difference.

    Calls alternate (order flipped every pair) so both see the same machine
    load; the median difference is robust to the noise of a busy loopback.
    """
    for _ in range(200):
        bare(), authed()
    times: list[tuple[float, float]] = []
    for i in range(pairs):
        first, second = (bare, authed) if i % 2 else (authed, bare)
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        a, b = (t1 - t0, t2 - t1) if first is bare else (t2 - t1, t1 - t0)
        times.append((a * 1e6, b * 1e6))
    bare_median = statistics.median(t[0] for t in times)
    authed_median = statistics.median(t[1] for t in times)
    return bare_median, authed_median, statistics.median(t[1] - t[0] for t in times)


def run() -> list[Figure]:
    key = SigningKey.generate()
    config = ClientConfig(
        IdpConfig("http://127.0.0.1:8", ClientCredentials.private_key_jwt("agent", key)),
        {AS: ClientCredentials.secret_basic("agent-at-chat", "secret")},
    )
    session = IdentitySession(subject="alice")
    with serve(app) as base:
        resource = base + "/api"
        client = XAAClient(config, session=session)
        scope = frozenset({"chat.read"})
        now = config.clock()
        token = AccessToken("cached-token", "Bearer", now + 3600, scope, resource, AS)
        client.flow.cache.store(CacheKey("alice", AS, resource, scope), token, None, now)
        auth = XAAAuth(client, resource=resource, scope=scope, authorization_server=AS)
        with httpx.Client() as bare, httpx.Client(auth=auth) as authed:
            url = resource + "/data"
            assert authed.get(url).status_code == 200
            bare_us, authed_us, overhead_us = paired_us(
                lambda: bare.get(url), lambda: authed.get(url)
            )
        client.close()
    return [
        Figure("client_bare_request_us", bare_us, "us"),
        Figure("client_xaaauth_cached_request_us", authed_us, "us"),
        Figure("client_cached_overhead_us", overhead_us, "us"),
    ]
