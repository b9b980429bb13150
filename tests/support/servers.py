"""Real HTTP on loopback for tests: the library's one thread server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from xaa.adapters.serving import free_port, serve_in_thread

__all__ = ["free_port", "serve"]


def serve(app: Any, port: int | None = None) -> AbstractContextManager[str]:
    """Serve ``app`` on 127.0.0.1 (``port`` or a free one); yields its base URL."""
    return serve_in_thread(app, port=port)
