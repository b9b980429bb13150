"""The neutral HTTP messages the client flow yields, and the URL rules for token calls.

The flow yields a :class:`Request` and receives an :class:`xaa.HttpResponse`
(lowercase header names). Drivers never follow redirects (docs/security.md, the client).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .. import rules, spec
from .._errors import ConfigurationError, HttpResponse, ProtocolViolation
from .._jose import strict_json_object
from ._errors import (
    HOP_DISCOVERY,
    HOP_IDP_REFRESH,
    HOP_IDP_TOKEN_EXCHANGE,
    HOP_RESOURCE_AS,
    HOP_TOKEN_REQUEST,
)

MAX_RESPONSE_BYTES = 256 * 1024
DEFAULT_HOP_DEADLINE = 15.0
_HOPS = {
    spec.GRANT_TOKEN_EXCHANGE: HOP_IDP_TOKEN_EXCHANGE,
    spec.GRANT_JWT_BEARER: HOP_RESOURCE_AS,
    spec.GRANT_REFRESH_TOKEN: HOP_IDP_REFRESH,
}


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of the flow. ``body`` is already encoded."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class TransportLimits:
    """What a driver allows one hop (one HTTP exchange) of the flow; see docs/client.md.

    ``max_response_bytes``: the body is refused once it grows past this (while
    streaming) or when ``Content-Length`` announces more. ``hop_deadline``: seconds
    for the whole exchange (connect, headers, body), not per read.
    """

    max_response_bytes: int = MAX_RESPONSE_BYTES
    hop_deadline: float = DEFAULT_HOP_DEADLINE

    def __post_init__(self) -> None:
        if self.max_response_bytes <= 0 or not self.hop_deadline > 0:
            raise ConfigurationError("transport limits must be positive")


def hop_name(request: Request) -> str:
    """Which hop ``request`` is, for errors: one of :data:`~xaa.client.HOPS`, by its
    ``grant_type`` (a GET is :data:`~xaa.client.HOP_DISCOVERY`)."""
    if request.method == "GET":
        return HOP_DISCOVERY
    form = dict(parse_qsl(request.body.decode("ascii", "replace")))
    return _HOPS.get(form.get(spec.P_GRANT_TYPE, ""), HOP_TOKEN_REQUEST)


def display_url(url: str) -> str:
    """``url`` without userinfo, query or fragment: safe to put in an error message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: shown as sent, userinfo dropped
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` with the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port if parts.port is not None else {"https": 443, "http": 80}.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def is_secure(url: str) -> bool:
    """https, or http on loopback only (RFC 6749 §3.1.2.1, RFC 8414 §2)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and bool(parts.hostname) and is_loopback(parts.hostname or "")


def require_secure(url: str, rule: str = rules.HTTPS_REQUIRED) -> None:
    """:func:`is_secure`, else :class:`ProtocolViolation`."""
    if not is_secure(url):
        shown = display_url(url) if url else "an empty URL"
        raise ProtocolViolation(rule, f"{shown!r} is not https (http only on loopback)")


def require_same_origin(url: str, issuer: str) -> None:
    """Token calls go only to the origin of the metadata ``issuer`` (RFC 8414 §3.3)."""
    require_secure(url)
    if origin(url) != origin(issuer):
        raise ProtocolViolation(rules.ENDPOINT_ORIGIN, "endpoint is not on the issuer's origin")


def json_body(response: HttpResponse, rule: str) -> dict[str, Any]:
    """The response body as one JSON object (no duplicate members), else ProtocolViolation."""
    if len(response.body) > MAX_RESPONSE_BYTES:
        raise ProtocolViolation(rule, "response body too large")
    try:
        return strict_json_object(response.body)
    except (ValueError, json.JSONDecodeError):
        raise ProtocolViolation(rule, f"HTTP {response.status} body is not a JSON object") from None
