"""Where the suite's own servers listen (the test IdP, a vendor's app)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .._errors import ConfigurationError
from ..adapters.serving import free_port, serve_in_thread

__all__ = ["free_port", "host_port", "serve_in_thread"]


def host_port(url: str) -> tuple[str, int]:
    """The host and port an ``http://`` URL listens on."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ConfigurationError(
            "the test IdP serves plain http on a local address, e.g. http://127.0.0.1:9401"
        )
    return parts.hostname, parts.port or 80
