"""Serve an ASGI app under uvicorn: in a background thread (tests, demos, the conformance
suite's test IdP) or as a deployment (:func:`serve_app`: the fast stack, ``workers``).
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

import uvicorn

__all__ = ["free_port", "serve_app", "serve_in_thread", "server_stack"]

log = logging.getLogger("xaa.serving")


def server_stack() -> tuple[str, str]:
    """``(http, loop)`` uvicorn runs on here: ``httptools`` and ``uvloop`` when installed
    (``uvicorn[standard]``, the ``server`` extra), else ``h11`` and ``asyncio``."""
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
    """Serve until interrupted on the fastest stack installed, saying which in one log line.

    With ``workers`` > 1, ``app`` must be an import string (``"module:attr"``, a factory
    when ``factory``): each worker process builds its own app, so every piece of state
    they share must live in SQLite or Redis.
    """
    http, loop = server_stack()
    processes = f"{workers} worker processes" if workers > 1 else "1 worker"
    log.info("%s: serving http://%s:%d on %s + %s, %s", name, host, port, http, loop, processes)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        factory=factory,
        http=http,
        loop=loop,
        log_level=log_level,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int | None = None) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL."""
    port = port or free_port()
    # The plain asyncio stack whatever is installed: tests behave the same everywhere.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        http="h11",
    )
    server = uvicorn.Server(config)
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
