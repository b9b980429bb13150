"""A :class:`~xaa.replay.ReplayStore` in Redis: shared by every process and host.

``claim`` is one atomic ``SET key holder NX PXAT expiry GET`` (Redis >= 7):
of concurrent callers exactly one sets the key and gets ``None``; the others
get the first holder. Keys expire on their own at ``expires_at``. Keys are
``<prefix>:<namespace>:<len(iss)>:<iss>:<jti>`` so no issuer/jti pair can
collide with another.

Blocking client: from Starlette each call is one short round trip (call it
inline, as the reference app does, or via ``anyio.to_thread``). Any Redis
error or timeout raises :class:`~xaa.replay.ReplayStoreUnavailable`, which
the token endpoint turns into 503 ``temporarily_unavailable``.
"""

from __future__ import annotations

import redis

from ..replay import ReplayStoreUnavailable


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

    def close(self) -> None:
        """Release the connection pool."""
        self._redis.close()


__all__ = ["RedisReplayStore"]
