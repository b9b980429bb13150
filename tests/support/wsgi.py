"""Serve a WSGI app (Flask, Django, authlib) on loopback in a thread, for end-to-end tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from xaa.adapters.serving import free_port

__all__ = ["serve_wsgi"]


class _Quiet(WSGIRequestHandler):
    """No access-log line per request; a client that stops sending mid-request (a chunk size
    line that never ends) times out after ``timeout`` s, as behind a production server."""

    timeout = 3

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        del code, size


@contextlib.contextmanager
def serve_wsgi(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (``port`` or a free one) until the block ends; yields its URL."""
    port = port or free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
