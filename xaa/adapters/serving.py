"""Serve an ASGI app under uvicorn, on loopback by default.

For tests, demos, the conformance suite's test IdP and ``xaa idp serve`` /
``xaa resource serve``: one implementation. :func:`uvicorn_config` makes a
request that is malformed or aborted at the HTTP layer a debug line, never a
warning or a traceback (``docs/resource.md, "HTTP edge"``): uvicorn's h11 protocol answers
it with 400 and closes, and a response the app was sending is dropped quietly.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["free_port", "serve_in_thread", "uvicorn_config"]

log = logging.getLogger("xaa.http")
_INVALID_REQUEST = "Invalid HTTP request received."


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EdgeH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, quiet about malformed requests.

    A framing error that arrives while the app is answering (a bad chunk after
    the headers) made uvicorn start a 400 on a connection whose response had
    begun, and the app's own response then raised ``LocalProtocolError``.
    Here the app's cycle is marked disconnected first (its sends are dropped)
    and the 400 is sent only when no response has started.
    """

    def send_400_response(self, msg: str) -> None:
        log.debug("malformed HTTP request: %s", msg)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            super().send_400_response(msg)
        else:
            self.transport.close()


class _QuietInvalidRequest(logging.Filter):
    """Drop uvicorn's warning for a malformed request (logged at debug by the protocol)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _INVALID_REQUEST


_QUIET = _QuietInvalidRequest()


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def uvicorn_config(app: Any, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    """A uvicorn configuration with the quiet h11 protocol; lifespan on."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", http=EdgeH11Protocol
    )
    _quiet_uvicorn()  # after Config, which (re)configures uvicorn's loggers
    return config


def serve(app: Any, host: str, port: int, *, log_level: str = "warning") -> None:
    """Serve ``app`` in this thread until interrupted (the CLI's ``serve`` commands)."""
    _quiet_uvicorn()
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=EdgeH11Protocol)


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"could not serve on {host}:{port} (port in use?)")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
