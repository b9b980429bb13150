"""Starlette glue shared by every xaa server: request in, ``HttpResponse`` out.

The sans-I/O endpoints call their stores (SQLite, Redis) synchronously. An async
server must not make those calls on its event loop: one hung store would stall
every request, metadata included. :class:`BlockingCalls` runs them in worker
threads, a bounded number at a time, each bounded in time: a slow store fails
its own requests (503 ``temporarily_unavailable``) and delays nothing else.

The HTTP edge (``docs/resource.md, "HTTP edge"``): :class:`HttpEdge` caps every request
body (``Content-Length`` first, then counting while it streams) with 413,
treats a client that goes away mid-request as a debug line, and gives every
HTML page anti-framing headers; :func:`read_body` is the one capped body
reader; :func:`lower_headers` refuses a repeated ``Authorization`` header.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._audit import clean_text, client_address
from .._errors import HttpResponse, InvalidRequest, OAuthError, TemporarilyUnavailable, XaaError
from .._forms import MAX_FORM_BYTES
from .._replay import AsyncReplayStore, ClaimFlow, ReplayClaim, never_blocks
from ._http_common import RequestTooLarge, header_map, require_form

__all__ = [
    "BODY_TIMEOUT",
    "HTML_SECURITY_HEADERS",
    "MAX_BODY_BYTES",
    "AuditAddressMiddleware",
    "BlockingCalls",
    "HttpEdge",
    "RequestTimeout",
    "RequestTooLarge",
    "error_response",
    "lower_headers",
    "read_body",
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
        """``call()`` in a worker thread; raises :class:`~xaa.TemporarilyUnavailable`
        (503) when it takes longer than ``timeout``."""
        with anyio.move_on_after(self.timeout):
            return await anyio.to_thread.run_sync(
                call, abandon_on_cancel=True, limiter=self._limiter
            )
        log.warning("request abandoned after %g s: a store did not answer", self.timeout)
        raise TemporarilyUnavailable(detail=f"store call exceeded {self.timeout:g} s")

    async def step(self, call: Callable[[], T], *, inline: bool) -> T:
        """``call()`` on the event loop when ``inline`` (its stores never block), else
        :meth:`run`."""
        return call() if inline else await self.run(call)

    async def claim(self, call: ReplayClaim) -> str | None:
        """Make one replay claim a flow asked for: awaited on an
        :class:`~xaa.AsyncReplayStore` (bounded by ``timeout``), inline on a store
        that never blocks, else in a worker thread."""
        store = call.store
        if _is_async_store(store):
            assert isinstance(store, AsyncReplayStore)
            with anyio.move_on_after(self.timeout):
                return await call.perform_async(store)
            log.warning("request abandoned after %g s: a store did not answer", self.timeout)
            raise TemporarilyUnavailable(detail=f"store call exceeded {self.timeout:g} s")
        if never_blocks(store):
            return call.perform()
        return await self.run(call.perform)

    async def drive(self, flow: ClaimFlow[T], *, inline: bool) -> T:
        """Run a sans-I/O flow to its end: its steps inline or in a worker thread
        (:meth:`step`), each replay claim it yields through :meth:`claim`; a claim's
        ``OAuthError`` is raised into the flow, which refuses the request as usual."""
        done, value = await self.step(functools.partial(_advance, flow, None), inline=inline)
        while not done:
            assert isinstance(value, ReplayClaim)
            reply: str | OAuthError | None
            try:
                reply = await self.claim(value)
            except OAuthError as exc:
                reply = exc
            advance = functools.partial(_advance, flow, reply)
            done, value = await self.step(advance, inline=inline)
        return cast(T, value)


_ASYNC_STORE_TYPES: dict[type, bool] = {}


def _is_async_store(store: object) -> bool:
    # isinstance() on a runtime-checkable Protocol costs ~10 us per call; the answer
    # depends only on the class.
    kind = type(store)
    found = _ASYNC_STORE_TYPES.get(kind)
    if found is None:
        found = _ASYNC_STORE_TYPES[kind] = isinstance(store, AsyncReplayStore)
    return found


def _advance(flow: ClaimFlow[T], reply: str | OAuthError | None) -> tuple[bool, ReplayClaim | T]:
    """One step of ``flow``: ``(False, next claim)`` or ``(True, its value)`` (StopIteration
    cannot cross a thread hop). An ``OAuthError`` reply is raised into the flow."""
    try:
        if isinstance(reply, OAuthError):
            return False, flow.throw(reply)
        return False, flow.send(reply)
    except StopIteration as stop:
        return True, stop.value


MAX_BODY_BYTES = MAX_FORM_BYTES
BODY_TIMEOUT = 10.0
# RFC 7034 and CSP Level 3 frame-ancestors: no page may be framed (clickjacking);
# the pages need nothing but their own inline style and forms.
HTML_SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
}


class RequestTimeout(InvalidRequest):
    """A body that stops arriving: ``invalid_request`` with RFC 9110 §15.5.9 status 408."""

    status = 408
    default_description = "The request body did not arrive in time."


def _declared_length(headers: Any) -> int | None:
    """``Content-Length`` as an int, or ``None`` (absent or unreadable: uvicorn checks it)."""
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def read_body(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with :class:`RequestTooLarge` past ``max_bytes``.

    ``Content-Length`` is checked before anything is read; a chunked body is
    counted as it arrives and reading stops at the first chunk over the cap. A
    client that goes away mid-body is ``invalid_request`` (no traceback).
    """
    declared = _declared_length(request.headers)
    if declared is not None and declared > max_bytes:
        raise RequestTooLarge(detail=f"declared body of {declared} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise RequestTooLarge(detail="body over the cap")
    except ClientDisconnect:
        # Nobody is left to answer; an OAuthError keeps the handler's one error path.
        raise InvalidRequest(detail="client disconnected mid-body") from None
    return bytes(body)


async def read_form_body(request: Request) -> bytes:
    """The raw body of a form POST, capped; a wrong content type is ``invalid_request``."""
    require_form(request.headers.get("content-type"))
    return await read_body(request, max_bytes=MAX_FORM_BYTES)


def lower_headers(request: Request) -> dict[str, str]:
    """Request headers with lowercase names (:func:`~xaa.adapters._http_common.header_map`:
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
    :class:`~xaa.AggregatingAuditSink`). Behind a proxy, run the server with
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


class _BodyOverCap(XaaError):
    """Raised from ``receive`` when a streamed body passes the cap (not an ``OAuthError``,
    so no handler turns it into something else)."""


class _BodyTooSlow(XaaError):
    """Raised from ``receive`` when the next part of the body does not come in time."""


class HttpEdge:
    """ASGI middleware in front of every route of an app (``docs/resource.md, "HTTP edge"``).

    - a body declared or streamed past ``max_body`` bytes: 413 ``invalid_request``
      (RFC 6749 §5.2 JSON, ``no-store``, ``Connection: close``), without reading on;
    - a body whose next part does not arrive within ``body_timeout`` seconds: 408
      ``invalid_request`` (the connection is not held open by a client that stalls);
    - a client that disconnects mid-request: a debug line, no traceback;
    - an HTML response: :data:`HTML_SECURITY_HEADERS` (no framing, a strict CSP).
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(_Headers(scope))
        if declared is not None and declared > self.max_body:
            log.info("request refused: declared body of %d bytes over the cap", declared)
            await _send_error(send, RequestTooLarge(detail="declared body over the cap"))
            return
        received = 0
        started = body_done = False

        async def capped_receive() -> Message:
            nonlocal received, body_done
            if body_done or started:
                return await receive()
            try:
                with anyio.fail_after(self.body_timeout):
                    message = await receive()
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyOverCap
                body_done = not message.get("more_body", False)
            return message

        async def marked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                _add_html_headers(message)
            await send(message)

        try:
            await self.app(scope, capped_receive, marked_send)
        except _BodyOverCap:
            log.info("request refused: streamed body over the cap")
            if not started:
                await _send_error(send, RequestTooLarge(detail="streamed body over the cap"))
        except _BodyTooSlow:
            log.info("request refused: body stalled for %s s", self.body_timeout)
            if not started:
                await _send_error(send, RequestTimeout(detail="body stalled"))
        except ClientDisconnect:
            log.debug("client disconnected before its request was read")


class _Headers:
    """The one lookup :func:`_declared_length` needs, on raw ASGI headers."""

    def __init__(self, scope: Scope) -> None:
        self._raw: list[tuple[bytes, bytes]] = scope.get("headers", [])

    def get(self, name: str) -> str | None:
        wanted = name.encode("ascii")
        for key, value in self._raw:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


def _add_html_headers(message: MutableMapping[str, Any]) -> None:
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if not content_type.lower().startswith(b"text/html"):
        return
    present = {k.lower() for k, _ in headers}
    for name, value in HTML_SECURITY_HEADERS.items():
        if name.encode() not in present:
            headers.append((name.encode(), value.encode()))
    message["headers"] = headers


async def _send_error(send: Send, error: OAuthError) -> None:
    """An RFC 6749 §5.2 error that also ends the connection (the body was not read)."""
    status, headers, body = error.to_response()
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
