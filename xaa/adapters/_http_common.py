"""Framework-neutral request handling shared by the Starlette, Flask and Django bindings.

Each binding reads its framework's request into these helpers and sends the
core's ``(status, headers, body)`` back; the rules live here once:

- :func:`header_map`: lowercase names; a repeated ``Authorization`` is
  ``invalid_request`` (two credentials are ambiguous, RFC 6749 §2.3, RFC 6750 §3.1);
  repeated ``DPoP`` headers are joined with ``,``, which no proof parses (RFC 9449 §4.3).
- :func:`wsgi_headers`: the same from a WSGI environ, where the server has already
  joined a repeated header with ``,`` (RFC 9110 §5.3): an ``Authorization`` value
  holding a comma is such a join (no Basic, Bearer or DPoP credential has one).
- :func:`require_form`: the token endpoints take ``application/x-www-form-urlencoded`` only.
- :func:`read_capped`: a body read from a file-like stream, refused with
  :class:`RequestTooLarge` (413) past the cap, ``Content-Length`` checked first.

Standard library and the core only: every binding may import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .. import spec
from .._errors import InvalidRequest
from .._forms import MAX_FORM_BYTES

__all__ = [
    "REPEATED_AUTHORIZATION",
    "RequestTooLarge",
    "header_map",
    "read_capped",
    "require_form",
    "wsgi_headers",
]

REPEATED_AUTHORIZATION = "The request has more than one Authorization header."
_CHUNK = 16 * 1024


class RequestTooLarge(InvalidRequest):
    """A request body over the cap: ``invalid_request`` with RFC 9110 §15.5.14 status 413."""

    status = 413
    default_description = "The request body is too large."


class Readable(Protocol):
    """A WSGI input stream (PEP 3333 ``wsgi.input``) or anything with ``read(n)``."""

    def read(self, size: int = ..., /) -> bytes: ...


def _repeated() -> InvalidRequest:
    return InvalidRequest(REPEATED_AUTHORIZATION, detail="repeated Authorization header")


def header_map(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers with lowercase names; a repeated ``Authorization`` is ``invalid_request``.

    Repeated ``DPoP`` headers are joined with ``,``; any other repeated header keeps
    its first value.
    """
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key not in out:
            out[key] = value
        elif key == spec.H_AUTHORIZATION:
            raise _repeated()
        elif key == spec.H_DPOP:
            out[key] += "," + value
    return out


def wsgi_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """:func:`header_map` for a WSGI environ (PEP 3333 ``HTTP_*``, ``CONTENT_TYPE``,
    ``CONTENT_LENGTH``); an ``Authorization`` holding a comma was repeated."""
    items: list[tuple[str, str]] = []
    for key, value in environ.items():
        if not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            items.append((key[5:].replace("_", "-"), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            items.append((key.replace("_", "-"), value))
    headers = header_map(items)
    if "," in headers.get(spec.H_AUTHORIZATION, ""):
        raise _repeated()
    return headers


def require_form(content_type: str | None) -> None:
    """The body must be ``application/x-www-form-urlencoded`` (RFC 6749 §4.1.3, §3.2)."""
    if (content_type or "").split(";")[0].strip().lower() != spec.MEDIA_TYPE_FORM:
        raise InvalidRequest(detail="content type is not application/x-www-form-urlencoded")


def declared_length(value: str | None) -> int | None:
    """``Content-Length`` as an int, or ``None`` when absent or unreadable."""
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def read_capped(
    stream: Readable, declared: int | None, *, max_bytes: int = MAX_FORM_BYTES
) -> bytes:
    """Read a body of ``declared`` bytes (``None``: to the end) from ``stream``.

    A declared length over ``max_bytes`` is refused before anything is read; an
    undeclared body is counted as it arrives and reading stops past the cap.
    """
    if declared is not None and declared > max_bytes:
        raise RequestTooLarge(detail=f"declared body of {declared} bytes")
    if declared is not None:
        return stream.read(declared) if declared else b""
    body = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise RequestTooLarge(detail="body over the cap")
