"""What the two key fetchers share: the blocking one of the WSGI bindings and the async
one of Starlette (docs/security.md "Metadata and keys").

Both fetch an IdP's RFC 8414 §3 metadata and its JWKS for the trust registry under the
same policy, kept here once: https only (plain http on loopback), no redirects, a time
cap, a size cap, a JSON object only; and any failure, a URL httpx cannot parse
included, is "no document" (``None``), so the registry keeps its cached keys and the
token request that asked for the refresh is answered from them, never with a 500.
"""

from __future__ import annotations

from typing import Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from .._safejson import parse_json_object
from ..resource._trust import FetchResult

__all__ = ["FETCH_FAILURES", "FETCH_TIMEOUT", "MAX_DOCUMENT_BYTES", "FetchPolicy"]

MAX_DOCUMENT_BYTES = 64 * 1024
FETCH_TIMEOUT = 5.0
# What a fetch may raise that means "no document": transport errors, a URL httpx cannot
# parse (httpx.InvalidURL is no HTTPError), a malformed URL (ValueError).
FETCH_FAILURES: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, ValueError)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)


class FetchPolicy(Generic[TransportT]):
    """The caps (``timeout`` seconds, ``max_bytes``), an optional ``transport`` (tests),
    which URLs may be fetched and how a body becomes the registry's document."""

    def __init__(
        self,
        *,
        timeout: float = FETCH_TIMEOUT,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        transport: TransportT | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.transport: TransportT | None = transport

    @staticmethod
    def allows(url: str) -> bool:
        """https, or plain http to a loopback host; ``False`` for a malformed URL."""
        try:
            parts = urlsplit(url)
            loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
        except ValueError:
            return False
        return parts.scheme == "https" or loopback

    def over_cap(self, body: bytes | bytearray) -> bool:
        """The body read so far is past ``max_bytes`` (stop reading, no document)."""
        return len(body) > self.max_bytes

    def document(self, body: bytes | bytearray) -> FetchResult:
        """The JSON object in ``body``, or ``None`` (not JSON, not an object, too deep)."""
        try:
            return parse_json_object(bytes(body), max_bytes=self.max_bytes)
        except ValueError:
            return None
