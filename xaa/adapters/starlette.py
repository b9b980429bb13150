"""Starlette glue shared by every xaa server: request in, ``HttpResponse`` out."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from .. import spec
from ..errors import HttpResponse, InvalidRequest, OAuthError
from ..forms import MAX_FORM_BYTES

__all__ = ["error_response", "lower_headers", "read_form_body", "to_starlette"]

log = logging.getLogger("xaa.http")


async def read_form_body(request: Request) -> bytes:
    """The raw body of a form POST, capped; a wrong content type is ``invalid_request``."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequest(detail="content type is not application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequest(detail="form body too large")
    return body


def lower_headers(request: Request) -> dict[str, str]:
    """Request headers with lowercase names (a repeated header keeps its first value).

    Repeated ``DPoP`` headers are joined with ``,`` (RFC 9110 §5.3), which no proof
    parses: RFC 9449 §4.3 allows exactly one.
    """
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == spec.H_DPOP and key in out:
            out[key] += "," + value
        else:
            out.setdefault(key, value)
    return out


def to_starlette(response: HttpResponse) -> Response:
    """Send a sans-I/O ``(status, headers, body)`` through Starlette."""
    return Response(content=response.body, status_code=response.status, headers=response.headers)


def error_response(exc: OAuthError, *, where: str) -> Response:
    """Log the private detail, send the public error (RFC 6749 §5.2)."""
    log.info("%s rejected: %s (%s)", where, exc.error, exc.detail)
    return to_starlette(exc.to_response())
