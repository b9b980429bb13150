"""Starlette glue shared by every xaa server: request in, ``HttpResponse`` out.

The sans-I/O endpoints call their stores (SQLite, Redis) synchronously. An async
server must not make those calls on its event loop: one hung store would stall
every request, metadata included. :class:`BlockingCalls` runs them in worker
threads, a bounded number at a time, each bounded in time: a slow store fails
its own requests (503 ``temporarily_unavailable``) and delays nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..audit import clean_text, client_address
from ..errors import HttpResponse, InvalidRequest, OAuthError, TemporarilyUnavailable
from ..forms import MAX_FORM_BYTES
from .http_common import header_map

__all__ = [
    "AuditAddressMiddleware",
    "BlockingCalls",
    "error_response",
    "lower_headers",
    "read_form_body",
    "to_starlette",
]

log = logging.getLogger("xaa.http")

T = TypeVar("T")
STORE_CALL_TIMEOUT = 5.0
STORE_THREADS = 32


class BlockingCalls:
    """Runs blocking handler work (store calls) off the event loop, bounded in time.

    ``timeout`` covers the wait for a thread and the call itself; past it the
    request answers 503 ``temporarily_unavailable`` and the thread is left to
    finish on its own (stores have their own, shorter, timeouts). One instance per
    application (its limiter belongs to the event loop that serves it). ``threads``
    bounds how many calls run at once, so a hung store cannot exhaust the
    thread pool other work shares.
    """

    def __init__(
        self, *, timeout: float = STORE_CALL_TIMEOUT, threads: int = STORE_THREADS
    ) -> None:
        self.timeout = timeout
        self._limiter = anyio.CapacityLimiter(threads)

    async def run(self, call: Callable[[], T]) -> T:
        """``call()`` in a worker thread; raises :class:`~xaa.errors.TemporarilyUnavailable`
        (503) when it takes longer than ``timeout``."""
        with anyio.move_on_after(self.timeout):
            return await anyio.to_thread.run_sync(
                call, abandon_on_cancel=True, limiter=self._limiter
            )
        log.warning("request abandoned after %g s: a store did not answer", self.timeout)
        raise TemporarilyUnavailable(detail=f"store call exceeded {self.timeout:g} s")


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
    """Request headers with lowercase names (:func:`~xaa.adapters.http_common.header_map`:
    a repeated ``Authorization`` is ``invalid_request``, repeated ``DPoP`` joined)."""
    return header_map(request.headers.items())


def to_starlette(response: HttpResponse) -> Response:
    """Send a sans-I/O ``(status, headers, body)`` through Starlette."""
    return Response(content=response.body, status_code=response.status, headers=response.headers)


def error_response(exc: OAuthError, *, where: str) -> Response:
    """Log the private detail (escaped and bounded: it may quote the request), send the
    public error (RFC 6749 §5.2)."""
    log.info("%s rejected: %s (%s)", where, exc.error, clean_text(exc.detail))
    return to_starlette(exc.to_response())


class AuditAddressMiddleware:
    """ASGI middleware: audit events built while a request is handled record the caller's
    address (``AuditEvent.client_address``, the key of
    :class:`~xaa.audit.AggregatingAuditSink`). Behind a proxy, run the server with
    forwarded-header handling so the address is the client's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client") if scope["type"] == "http" else None
        token = client_address.set(str(peer[0]) if peer else None)
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(token)
