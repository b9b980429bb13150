"""A minimal pipelined Redis connection for the event loop (RESP2, one command shape).

:class:`RespPipe` keeps one TCP connection per event loop: each command is written at
once and its future waits in a FIFO, which Redis answers in order, so concurrent
requests share the connection without a pool or a lock. It speaks only what the
replay store sends (``AUTH``, ``SELECT``, ``SET ... NX PXAT ... GET``) and reads the
replies those get (simple string, error, integer, bulk string, nil).

A reply that does not come within ``timeout`` raises :class:`TimeoutError` for its
caller only; its future stays in the FIFO and the late reply is dropped, so the order
holds. A lost connection fails every waiting call with :class:`ConnectionError`; the
next call reconnects.
"""

from __future__ import annotations

import asyncio
import collections
from typing import cast
from urllib.parse import unquote, urlsplit

from .._errors import ConfigurationError, XaaError

__all__ = ["RespError", "RespPipe", "encode_command"]

Reply = bytes | int | None


class RespError(XaaError):
    """An error reply (``-ERR ...``) from Redis."""


def encode_command(*parts: str | bytes) -> bytes:
    """One RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _parse(buf: bytearray) -> tuple[Reply | RespError, int] | None:
    """The first reply in ``buf`` and its length, or ``None`` when it is incomplete."""
    end = buf.find(b"\r\n")
    if end < 0:
        return None
    kind, line = buf[:1], bytes(buf[1:end])
    if kind == b"+":
        return line, end + 2
    if kind == b"-":
        return RespError(line.decode("utf-8", "replace")), end + 2
    if kind == b":":
        return int(line), end + 2
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, end + 2
        stop = end + 2 + size
        if len(buf) < stop + 2:
            return None
        return bytes(buf[end + 2 : stop]), stop + 2
    raise ConnectionError(f"unexpected Redis reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future[Reply]] = collections.deque()
        self.buffer = bytearray()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they implement it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            while self.buffer:
                parsed = _parse(self.buffer)
                if parsed is None:
                    return
                reply, size = parsed
                del self.buffer[:size]
                future = self.waiting.popleft()
                if future.done():  # its caller timed out: the late reply is dropped
                    continue
                if isinstance(reply, RespError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except (ConnectionError, ValueError, IndexError) as exc:
            self._fail(ConnectionError(f"unreadable Redis reply: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError("Redis connection lost"))

    def _fail(self, exc: Exception) -> None:
        self.lost = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(exc)


class RespPipe:
    """One pipelined connection to the Redis at ``url`` (``redis://[user:pass@]host[:port][/db]``)
    for the running event loop."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ConfigurationError("RespPipe speaks plain redis:// only")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.db = int(parts.path.strip("/") or 0)
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    async def _connected(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and not protocol.lost:
            return protocol
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.timeout):
            _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
        self._protocol = protocol
        if self.password is not None:
            auth = (self.username, self.password) if self.username else (self.password,)
            await self._send(protocol, encode_command("AUTH", *auth))
        if self.db:
            await self._send(protocol, encode_command("SELECT", str(self.db)))
        return protocol

    async def _send(self, protocol: _Protocol, command: bytes) -> Reply:
        assert protocol.transport is not None
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        protocol.waiting.append(future)
        protocol.transport.write(command)
        async with asyncio.timeout(self.timeout):
            return await future

    async def execute(self, command: bytes) -> Reply:
        """Send one encoded command and wait for its reply (at most ``timeout``)."""
        return await self._send(await self._connected(), command)

    def close(self) -> None:
        """Close the connection."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
