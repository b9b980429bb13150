"""Serve an ASGI app under uvicorn, on loopback by default.

For tests, demos, the conformance suite's test IdP and ``xaa idp serve`` /
``xaa resource serve``: one implementation. :func:`uvicorn_config` makes a
request that is malformed or aborted at the HTTP layer a debug line, never a
warning or a traceback (``docs/resource.md, "HTTP edge"``): uvicorn's h11 protocol answers
it with 400 and closes, and a response the app was sending is dropped quietly.

:func:`serve_app` serves a deployment on the fastest stack installed (httptools and
uvloop from ``uvicorn[standard]``, the ``server`` extra), in one or more worker processes,
and says which stack in one log line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from .._errors import ConfigurationError
from ._extras import missing_extra

try:
    import h11
    import uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "server", exc) from None

__all__ = ["free_port", "serve_app", "serve_in_thread", "server_stack", "uvicorn_config"]

log = logging.getLogger("xaa.http")
# uvicorn's warnings any client causes with one request, on either HTTP stack: a request
# its parser refuses (answered 400), and an ``Upgrade`` it does not speak (``h2c``, which
# curl sends: the request is served over HTTP/1.1, RFC 9110 §7.8 lets a server ignore it).
_QUIETED = frozenset({"Invalid HTTP request received.", "Unsupported upgrade request."})


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
    """Drop uvicorn's per-request warnings (a malformed request is logged at debug by
    :class:`EdgeH11Protocol`; an unsupported upgrade is served as plain HTTP/1.1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _QUIETED


_QUIET = _QuietInvalidRequest()


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def uvicorn_config(
    app: Any,
    host: str,
    port: int,
    *,
    log_level: str = "warning",
    loop: str = "asyncio",
    http: str = "h11",
) -> uvicorn.Config:
    """A uvicorn configuration with the quiet h11 protocol (``http="httptools"``: the
    stack :func:`serve_app` deploys on when installed); lifespan on; the plain asyncio
    loop by default (tests behave the same whatever is installed)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        http="httptools" if http == "httptools" else EdgeH11Protocol,
        loop=loop,
    )
    _quiet_uvicorn()  # after Config, which (re)configures uvicorn's loggers
    return config


def serve(app: Any, host: str, port: int, *, log_level: str = "warning") -> None:
    """Serve ``app`` in this thread until interrupted (the CLI's ``serve`` commands)."""
    _quiet_uvicorn()
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=EdgeH11Protocol)


def server_stack() -> tuple[str, str]:
    """``(http, loop)`` a deployment runs on here: ``httptools`` and ``uvloop`` when
    installed (``uvicorn[standard]``, the ``server`` extra), else ``h11`` and ``asyncio``."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return http, loop


def serve_app(
    app: Any,
    *,
    name: str,
    host: str,
    port: int,
    workers: int = 1,
    factory: bool = False,
    log_level: str = "warning",
) -> None:
    """Serve until interrupted on the fastest stack installed, saying which in one log line
    (``xaa idp serve``, ``xaa resource serve``). Without httptools, the quiet h11 protocol.

    With ``workers`` > 1, ``app`` must be an import string (``"module:attr"``, a factory
    when ``factory``): each worker process builds its own app, so every piece of state
    they share must live in SQLite or Redis.
    """
    http, loop = server_stack()
    processes = f"{workers} worker processes" if workers > 1 else "1 worker"
    logging.getLogger("xaa.serving").info(
        "%s: serving http://%s:%d on %s + %s, %s", name, host, port, http, loop, processes
    )
    _quiet_uvicorn()
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        factory=factory,
        http="httptools" if http == "httptools" else EdgeH11Protocol,
        loop=loop,
        log_level=log_level,
    )


def quiet_uvicorn() -> None:
    """Quiet uvicorn's malformed-request warning in this process (each worker calls it)."""
    _quiet_uvicorn()


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    stack: tuple[str, str] = ("h11", "asyncio"),
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. ``stack``: ``(http, loop)``,
    e.g. :func:`server_stack` to test what a deployment here runs on."""
    port = port or free_port()
    http, loop = stack
    server = uvicorn.Server(uvicorn_config(app, host, port, http=http, loop=loop))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise ConfigurationError(f"could not serve on {host}:{port} (port in use?)")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
