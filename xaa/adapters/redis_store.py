"""A :class:`~xaa.ReplayStore` in Redis: shared by every process and host.

``claim`` is one atomic ``SET key holder NX PXAT expiry GET`` (Redis >= 7):
of concurrent callers exactly one sets the key and gets ``None``; the others
get the first holder. Keys expire on their own at ``expires_at``. Keys are
``<prefix>:<namespace>:<len(iss)>:<iss>:<jti>`` so no issuer/jti pair can
collide with another.

Blocking client: from Starlette run it off the event loop
(:class:`~xaa.adapters.starlette.BlockingCalls` does, in every xaa route). Any
Redis error or timeout raises :class:`~xaa.ReplayStoreUnavailable`, which
the token endpoint turns into 503 ``temporarily_unavailable``.

Persistence: a Redis that restarts empty forgets every redeemed ``jti`` and
reopens the replay window of ID-JAGs still unexpired (RFC 7523 §3 item 7).
:meth:`RedisReplayStore.check_persistence` logs a WARNING at startup when the
server has neither ``appendonly yes`` nor RDB ``save`` points (docs/resource.md).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from ._extras import missing_extra

try:
    import redis
    import redis.asyncio

    from .._replay import ReplayStoreUnavailable
    from ._redis_resp import RespError, RespPipe, encode_command
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "redis", exc) from None

log = logging.getLogger("xaa.adapters.redis_store")


class RedisReplayStore:
    """Replay registry in Redis at ``url`` (``redis://host:port/db``)."""

    def __init__(self, url: str, *, prefix: str = "xaa:replay", timeout: float = 1.0) -> None:
        self.prefix = prefix
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def check(self) -> None:
        """Ping Redis now (at startup), so an unreachable store fails before the first request."""
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            where = self._redis.get_connection_kwargs()
            host, port = where.get("host", where.get("path", "?")), where.get("port", "")
            raise ReplayStoreUnavailable(
                f"redis at {host}{':' if port else ''}{port} is unreachable ({type(exc).__name__})"
            ) from exc

    def _key(self, namespace: str, issuer: str, jti: str) -> str:
        return f"{self.prefix}:{namespace}:{len(issuer)}:{issuer}:{jti}"

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        key = self._key(namespace, issuer, jti)
        expiry_ms = int(max(expires_at, now + 1) * 1000)
        try:
            previous = self._redis.set(key, holder, nx=True, pxat=expiry_ms, get=True)
        except redis.RedisError as exc:
            raise ReplayStoreUnavailable("redis unavailable") from exc
        if previous is None:
            return None
        return previous.decode() if isinstance(previous, bytes) else str(previous)

    def check_persistence(self) -> str | None:
        """Call at startup: why a Redis restart would forget redeemed keys (logged as a
        WARNING), or ``None`` when ``appendonly`` is on (``CONFIG GET appendonly`` / ``save``)."""
        problem = self._persistence_problem()
        if problem is not None:
            log.warning("replay store: %s", problem)
        return problem

    def _persistence_problem(self) -> str | None:
        try:
            aof = _config(self._redis, "appendonly")
            save = _config(self._redis, "save")
        except redis.ResponseError:
            return (
                "cannot read CONFIG GET appendonly / save; make sure the Redis server "
                "persists keys (appendonly yes), or a restart reopens the replay window"
            )
        except redis.RedisError:
            return "cannot reach Redis to check persistence (CONFIG GET appendonly / save)"
        if aof == "yes":
            return None
        if save.strip():
            return (
                f"Redis has appendonly {aof} and only RDB snapshots (save {save!r}): a crash "
                "forgets keys written since the last snapshot and reopens their replay "
                "window; set appendonly yes"
            )
        return (
            f"Redis has no persistence (appendonly {aof}, save ''): a restart forgets every "
            "redeemed jti and reopens the replay window; set appendonly yes"
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._redis.close()


class AsyncRedisReplayStore(RedisReplayStore):
    """:class:`RedisReplayStore` with an awaitable claim (:class:`~xaa.AsyncReplayStore`):
    the async adapters await :meth:`claim_async` on their event loop (``redis.asyncio``,
    the same atomic ``SET NX PXAT GET`` and key layout), so a hung Redis holds no thread
    and delays no other request; the blocking :meth:`claim` stays for sync callers
    (``private_key_jwt`` client assertions, scripts). ``timeout`` bounds each call.

    A ``redis://`` URL is served by one pipelined connection per event loop
    (its own RESP pipeline, ``xaa/adapters/_redis_resp.py``: no pool, no lock, a fraction of
    the CPU per call); ``rediss://`` and ``unix://`` by ``redis.asyncio``. Either belongs to the
    event loop that first used it; another loop (a second server in the same process) gets its
    own.
    """

    def __init__(self, url: str, *, prefix: str = "xaa:replay", timeout: float = 1.0) -> None:
        super().__init__(url, prefix=prefix, timeout=timeout)
        self._url = url
        self._timeout = timeout
        self._pipelined = urlsplit(url).scheme == "redis"
        self._clients: dict[int, redis.asyncio.Redis] = {}
        self._pipes: dict[int, RespPipe] = {}

    def _pipe(self) -> RespPipe:
        loop = id(asyncio.get_running_loop())
        pipe = self._pipes.get(loop)
        if pipe is None:
            pipe = RespPipe(self._url, timeout=self._timeout)
            self._pipes = {**self._pipes, loop: pipe}
        return pipe

    def _async_client(self) -> redis.asyncio.Redis:
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
            self._clients = {**self._clients, loop: client}
        return client

    async def claim_async(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        """:meth:`claim`, awaited; a Redis error or timeout raises
        :class:`~xaa.ReplayStoreUnavailable` (the endpoint answers 503)."""
        key = self._key(namespace, issuer, jti)
        expiry_ms = int(max(expires_at, now + 1) * 1000)
        previous: object
        try:
            if self._pipelined:
                command = encode_command("SET", key, holder, "NX", "PXAT", str(expiry_ms), "GET")
                previous = await self._pipe().execute(command)
            else:
                previous = await self._async_client().set(
                    key, holder, nx=True, pxat=expiry_ms, get=True
                )
        except (redis.RedisError, RespError, OSError, TimeoutError) as exc:
            raise ReplayStoreUnavailable("redis unavailable") from exc
        if previous is None:
            return None
        return previous.decode() if isinstance(previous, bytes) else str(previous)

    async def aclose(self) -> None:
        """Close the async connections of the running event loop (call at shutdown)."""
        pipe = self._pipes.get(id(asyncio.get_running_loop()))
        if pipe is not None:
            self._pipes = {k: v for k, v in self._pipes.items() if v is not pipe}
            pipe.close()
        client = self._clients.get(id(asyncio.get_running_loop()))
        if client is not None:
            self._clients = {k: v for k, v in self._clients.items() if v is not client}
            await client.aclose()


def _config(client: redis.Redis, name: str) -> str:
    """One ``CONFIG GET`` value as text (``""`` when absent)."""
    value = client.config_get(name).get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)


__all__ = ["AsyncRedisReplayStore", "RedisReplayStore"]
