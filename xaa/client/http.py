"""The neutral HTTP messages the client flow yields, and the URL rules for token calls.

The flow yields a :class:`Request` and receives an :class:`xaa.errors.HttpResponse`
(lowercase header names). Drivers never follow redirects (docs/security.md, the client).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import HttpResponse, ProtocolViolation
from ..jose import strict_json_object

MAX_RESPONSE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of the flow. ``body`` is already encoded."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)


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


def require_secure(url: str, rule: str = "https-required") -> None:
    """https, or http on loopback only (RFC 6749 §3.1.2.1, RFC 8414 §2)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise ProtocolViolation(rule, "URL must be https (http only on loopback)")


def require_same_origin(url: str, issuer: str) -> None:
    """Token calls go only to the origin of the metadata ``issuer`` (RFC 8414 §3.3)."""
    require_secure(url)
    if origin(url) != origin(issuer):
        raise ProtocolViolation("endpoint-origin", "endpoint is not on the issuer's origin")


def json_body(response: HttpResponse, rule: str) -> dict[str, Any]:
    """The response body as one JSON object (no duplicate members), else ProtocolViolation."""
    if len(response.body) > MAX_RESPONSE_BYTES:
        raise ProtocolViolation(rule, "response body too large")
    try:
        return strict_json_object(response.body)
    except (ValueError, json.JSONDecodeError):
        raise ProtocolViolation(rule, f"HTTP {response.status} body is not a JSON object") from None
