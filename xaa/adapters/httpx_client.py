"""XAA over httpx: ``XAAClient``, ``AsyncXAAClient`` and ``XAAAuth``.

The same code serves ``httpx2`` (:mod:`xaa.adapters.httpx2_client`): the HTTP
module is a class attribute, the ``Auth`` logic a mixin. Both drivers run the
one sans-I/O flow (:class:`xaa.client.XaaFlow`). Token calls never follow redirects,
cap the body while it streams and have one deadline per hop
(:class:`~xaa.client.TransportLimits`, docs/client.md).

Single flight: callers needing a token for the same subject queue on one lock
(a thread lock, or an anyio lock), so concurrent misses cause one exchange;
hits never take the lock.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .._errors import ConfigurationError
from ._extras import missing_extra

try:
    import anyio
    import httpx

    from .. import rules, spec
    from .._dpop import dpop_nonce_challenge
    from .._errors import HttpResponse, ProtocolViolation
    from .._forms import parse_scope
    from ..client._cache import IdentitySession
    from ..client._discovery import parse_www_authenticate
    from ..client._errors import (
        HopDeadlineExceeded,
        ResponseTooLarge,
        StepUpRequired,
        XaaClientError,
    )
    from ..client._flow import ClientConfig, Flow, XaaFlow, run_async, run_sync
    from ..client._http import (
        Request,
        TransportLimits,
        display_url,
        hop_name,
        is_secure,
        origin,
    )
    from ..client._requests import AccessToken, IdJag
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "client", exc) from None

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncXAAClient",
    "XAAAuth",
    "XAAAuthLogic",
    "XAAClient",
    "send",
    "send_async",
]

DEFAULT_TIMEOUT = 10.0


_STREAM_EVENTS = ("connect_tcp.complete", "connect_unix_socket.complete", "start_tls.complete")


def _too_large(request: Request, limits: TransportLimits) -> ResponseTooLarge:
    return ResponseTooLarge(hop_name(request), display_url(request.url), limits.max_response_bytes)


def _late(request: Request, limits: TransportLimits) -> HopDeadlineExceeded:
    return HopDeadlineExceeded(hop_name(request), display_url(request.url), limits.hop_deadline)


def _timeout(http: Any, remaining: float) -> Any:
    """The client's timeouts, each capped at what is left of the hop's deadline."""
    base = getattr(http, "timeout", None)
    phases = ("connect", "read", "write", "pool")
    if base is None or not all(hasattr(base, name) for name in phases):
        return remaining
    capped = {name: min(getattr(base, name) or remaining, remaining) for name in phases}
    return type(base)(**capped)


def _stream_args(http: Any, request: Request, limits: TransportLimits, *, close: bool) -> Any:
    """``http.stream`` arguments of one hop: no redirects, no content coding (the cap counts
    what arrives), timeouts within the deadline; ``close``: a fresh connection."""
    headers = {**request.headers, "accept-encoding": "identity"}
    if close:
        headers["connection"] = "close"
    return {
        "method": request.method,
        "url": request.url,
        "headers": headers,
        "content": request.body or None,
        "follow_redirects": False,
        "timeout": _timeout(http, limits.hop_deadline),
    }


class _Body:
    """A hop's response body, capped: refused from ``Content-Length`` before any byte is
    read when it announces more than the cap, else once what arrives passes it."""

    def __init__(self, response: Any, request: Request, limits: TransportLimits) -> None:
        self._response, self._request, self._limits = response, request, limits
        self._body = bytearray()
        announced = response.headers.get("content-length", "")
        if announced.strip().isdigit() and int(announced) > limits.max_response_bytes:
            raise _too_large(request, limits)

    def add(self, chunk: bytes) -> None:
        self._body += chunk
        if len(self._body) > self._limits.max_response_bytes:
            raise _too_large(self._request, self._limits)

    def response(self) -> HttpResponse:
        headers = {k.lower(): v for k, v in self._response.headers.items()}
        return HttpResponse(self._response.status_code, headers, bytes(self._body))


class _Watchdog:
    """Shuts the hop's socket down at its deadline, waking a read blocked on a drip.

    The sockets come from the ``trace`` extension of httpcore (``connect_tcp``, and
    ``start_tls``, whose TLS socket replaces the TCP one); each hop asks for
    ``Connection: close``, so it always runs on a new connection.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.deadline

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: keep the socket of a new connection."""
        if not event.endswith(_STREAM_EVENTS):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.fired:
                    _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def cancel(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    """Shut the socket down under a blocked reader; on a TLS socket, below the TLS layer."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def send(http: Any, request: Request, *, limits: TransportLimits | None = None) -> HttpResponse:
    """Send a flow's ``request`` on an httpx (or httpx2) ``Client``; redirects never followed.

    The body is capped while it streams and the whole exchange has one deadline
    (``limits``, default :class:`TransportLimits()`): :class:`ResponseTooLarge`,
    :class:`HopDeadlineExceeded`.
    """
    limits = limits or TransportLimits()
    watchdog = _Watchdog(limits.hop_deadline)
    try:
        with http.stream(
            **_stream_args(http, request, limits, close=True),
            extensions={"trace": watchdog.trace},
        ) as response:
            body = _Body(response, request, limits)
            for chunk in response.iter_bytes():
                body.add(chunk)
                if watchdog.expired():
                    raise _late(request, limits)
            if watchdog.expired():
                raise _late(request, limits)
            return body.response()
    except (XaaClientError, ProtocolViolation):
        raise
    except Exception as failed:
        if watchdog.expired():
            raise _late(request, limits) from None
        _name_the_hop(failed, request)
        raise
    finally:
        watchdog.cancel()


async def send_async(
    http: Any, request: Request, *, limits: TransportLimits | None = None
) -> HttpResponse:
    """:func:`send` on an ``AsyncClient`` (the deadline is an anyio cancel scope)."""
    limits = limits or TransportLimits()
    deadline = time.monotonic() + limits.hop_deadline
    try:
        with anyio.fail_after(limits.hop_deadline):
            async with http.stream(**_stream_args(http, request, limits, close=False)) as response:
                body = _Body(response, request, limits)
                async for chunk in response.aiter_bytes():
                    body.add(chunk)
                return body.response()
    except (XaaClientError, ProtocolViolation):
        raise
    except Exception as failed:
        if time.monotonic() >= deadline:
            raise _late(request, limits) from None
        _name_the_hop(failed, request)
        raise


def _name_the_hop(failed: Exception, request: Request) -> None:
    """A transport error keeps its type (callers catch ``httpx.ConnectError``) and gains a
    note naming the hop and the URL (PEP 678): through ``XAAAuth`` an IdP that is down
    is then not mistaken for the API."""
    failed.add_note(f"xaa: {hop_name(request)} at {display_url(request.url)}")


class _Driver:
    """What the sync and async clients share: the flow, the session, the request shapes."""

    http_module: ClassVar[ModuleType] = httpx
    http_class: ClassVar[str]  # "Client" or "AsyncClient": made when ``http`` is not given
    lock_type: ClassVar[type[Any]]  # a thread lock, or an anyio lock

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        session: IdentitySession | None = None,
        flow: XaaFlow | None = None,
        http: Any = None,
        limits: TransportLimits | None = None,
    ) -> None:
        if flow is None:
            if config is None:
                raise ConfigurationError("pass a ClientConfig or an XaaFlow")
            flow = XaaFlow(config)
        self.flow = flow
        self.session = session
        self.limits = limits or TransportLimits()
        self._http = http or getattr(self.http_module, self.http_class)(
            follow_redirects=False, timeout=DEFAULT_TIMEOUT
        )
        self._guard = threading.Lock()
        self._locks: dict[str, Any] = {}

    def _lock(self, subject: str) -> Any:
        """The single-flight lock of ``subject`` (a ``lock_type``)."""
        with self._guard:
            return self._locks.setdefault(subject, self.lock_type())

    def _session(self, session: IdentitySession | None) -> IdentitySession:
        chosen = session or self.session
        if chosen is None:
            raise ConfigurationError(
                "no IdentitySession: pass session= to the XAAClient, the XAAAuth or get_token"
            )
        return chosen

    def _token_flow(
        self,
        resource: str,
        scope: Iterable[str] | str | None,
        session: IdentitySession | None,
        kwargs: dict[str, Any],
    ) -> tuple[AccessToken | Callable[[], Flow[AccessToken]], str]:
        """A cached token, or the flow to run under the subject's lock; and the subject."""
        chosen = self._session(session)
        scopes = _scope_set(scope)
        required = kwargs.get("required_scope")
        if required is not None:  # a string, like ``scope`` (not a set of its letters)
            kwargs = {**kwargs, "required_scope": _scope_set(required)}

        def make() -> Flow[AccessToken]:
            return self.flow.token_flow(resource, scopes, chosen, **kwargs)

        assert chosen.subject is not None
        hit = _cached(make)
        return (make if hit is None else hit), chosen.subject

    def _id_jag_flow(
        self,
        audience: str,
        resource: str | None,
        scope: Iterable[str] | str | None,
        session: IdentitySession | None,
        client_id: str | None,
    ) -> tuple[Flow[IdJag], str]:
        """The IdP leg's flow (it runs under the subject's lock), and the subject."""
        chosen = self._session(session)
        scopes = _scope_set(scope)
        if client_id is None:
            credentials = self.flow.config.authorization_servers.get(audience)
            if credentials is None:
                raise ConfigurationError("no client_id known at this authorization server")
            client_id = credentials.client_id
        assert chosen.subject is not None
        return self.flow.id_jag_flow(audience, client_id, resource, scopes, chosen), chosen.subject

    def discard(self, token: AccessToken) -> None:
        """Forget ``token`` (the resource refused it)."""
        self.flow.cache.discard(token)


def _scope_set(scope: Iterable[str] | str | None) -> frozenset[str]:
    """A space-separated string (RFC 6749 §3.3) or an iterable of scopes, as a set."""
    return parse_scope(scope) if isinstance(scope, str) else frozenset(scope or ())


def _cached(make: Callable[[], Flow[AccessToken]]) -> AccessToken | None:
    """Run the flow as far as it goes without I/O: a cache hit returns, a miss yields."""
    flow = make()
    try:
        next(flow)
    except StopIteration as stop:
        token: AccessToken = stop.value
        return token
    flow.close()
    return None


class XAAClient(_Driver):
    """Blocking client: ``get_token(resource, scope)`` runs both legs and the ladder.

    ``http``: an httpx ``Client`` for the token calls (HTTP/1.1); ``limits``: the
    body cap and hop deadline of each call.
    """

    http_class: ClassVar[str] = "Client"
    lock_type: ClassVar[type[Any]] = threading.Lock

    def _send(self, request: Request) -> HttpResponse:
        return send(self._http, request, limits=self.limits)

    def get_token(
        self,
        resource: str,
        scope: Iterable[str] | str | None = None,
        *,
        session: IdentitySession | None = None,
        **options: Any,
    ) -> AccessToken:
        """An access token for ``resource``; ``options``: ``authorization_server``,
        ``metadata_url``, ``actor_token``, ``actor_token_type``, ``required_scope``.

        The token carries ``requested_scopes`` and ``granted_scopes``: the IdP may
        grant less than ``scope`` (draft §4.3.3) and only that is redeemed."""
        make, subject = self._token_flow(resource, scope, session, options)
        if isinstance(make, AccessToken):
            return make
        with self._lock(subject):
            return run_sync(make(), self._send)

    def get_id_jag(
        self,
        audience: str,
        resource: str | None = None,
        scope: Iterable[str] | str | None = None,
        *,
        session: IdentitySession | None = None,
        client_id: str | None = None,
    ) -> IdJag:
        """Only the IdP leg: an ID-JAG for the AS ``audience`` (draft §4.3)."""
        flow, subject = self._id_jag_flow(audience, resource, scope, session, client_id)
        with self._lock(subject):
            return run_sync(flow, self._send)

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


class AsyncXAAClient(_Driver):
    """The async twin of :class:`XAAClient` on the same flow (``http``: an ``AsyncClient``)."""

    http_class: ClassVar[str] = "AsyncClient"
    lock_type: ClassVar[type[Any]] = anyio.Lock

    async def _send(self, request: Request) -> HttpResponse:
        return await send_async(self._http, request, limits=self.limits)

    async def get_token(
        self,
        resource: str,
        scope: Iterable[str] | str | None = None,
        *,
        session: IdentitySession | None = None,
        **options: Any,
    ) -> AccessToken:
        """An access token for ``resource`` (see :meth:`XAAClient.get_token`)."""
        make, subject = self._token_flow(resource, scope, session, options)
        if isinstance(make, AccessToken):
            return make
        async with self._lock(subject):
            return await run_async(make(), self._send)

    async def get_id_jag(
        self,
        audience: str,
        resource: str | None = None,
        scope: Iterable[str] | str | None = None,
        *,
        session: IdentitySession | None = None,
        client_id: str | None = None,
    ) -> IdJag:
        """Only the IdP leg: an ID-JAG for the AS ``audience`` (draft §4.3)."""
        flow, subject = self._id_jag_flow(audience, resource, scope, session, client_id)
        async with self._lock(subject):
            return await run_async(flow, self._send)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def _dpop_nonce(response: Any) -> str | None:
    """The nonce of a resource server's ``use_dpop_nonce`` 401 (headers only), else None."""
    if response.status_code != 401:
        return None
    headers = {k.lower(): v for k, v in response.headers.items()}
    return dpop_nonce_challenge(401, headers, b"")


_PRESENTED_KEPT = 64  # the latest Authorization values, to strip from an uncovered request


@dataclass(frozen=True, slots=True)
class _Prefix:
    """An origin and a path: where a token may be sent (RFC 6750 §5.3)."""

    origin: tuple[str, str, int]
    path: str

    @classmethod
    def of(cls, url: str) -> _Prefix:
        parts = urlsplit(url)
        if not is_secure(url):  # RFC 6750 §5.3: a bearer token only over TLS
            raise ConfigurationError(
                "a token audience must be an absolute https URL (http only on loopback): "
                f"{display_url(url)!r}"
            )
        return cls(origin(url), parts.path.rstrip("/"))

    def covers(self, url: str) -> bool:
        path = urlsplit(url).path
        if origin(url) != self.origin:
            return False
        return not self.path or path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True, slots=True)
class _NeedToken:
    scope: frozenset[str]
    stale: AccessToken | None = None
    metadata_url: str | None = None
    required: frozenset[str] = frozenset()


class XAAAuthLogic:
    """``httpx.Auth``/``httpx2.Auth`` logic for both module's ``Client`` and ``AsyncClient``.

    401 -> drop the token, get another, retry once. 403 ``insufficient_scope``
    naming a scope the token lacks -> re-exchange once with the union of scopes
    (RFC 6750 §3.1); when the IdP or the AS declines it again,
    :class:`~xaa.client.ScopeNotGranted`.
    ``insufficient_user_authentication`` -> :class:`StepUpRequired` (RFC 9470 §3).

    The token goes only to ``resource`` (same origin, path at or under its path)
    and to the URLs of ``also_for``; any other request passes through untouched
    (RFC 6750 §5.3). ``limits`` apply to the token calls of a client made here.
    """

    client_class: ClassVar[type[XAAClient]] = XAAClient
    async_client_class: ClassVar[type[AsyncXAAClient]] = AsyncXAAClient

    def __init__(
        self,
        client: XAAClient | AsyncXAAClient | ClientConfig,
        *,
        resource: str,
        scope: Iterable[str] | str | None = None,
        session: IdentitySession | None = None,
        authorization_server: str | None = None,
        also_for: Iterable[str] = (),
        limits: TransportLimits | None = None,
    ) -> None:
        self.resource = resource
        self._audience = [_Prefix.of(url) for url in (resource, *also_for)]
        self._presented: deque[str] = deque(maxlen=_PRESENTED_KEPT)  # Authorization values sent
        self._limits = limits
        self.authorization_server = authorization_server
        self.scope = _scope_set(scope)
        self._sync: XAAClient | None = None
        self._async: AsyncXAAClient | None = None
        if isinstance(client, XAAClient):
            self._sync, self._flow, self._session = client, client.flow, session or client.session
        elif isinstance(client, AsyncXAAClient):
            self._async, self._flow, self._session = client, client.flow, session or client.session
        else:
            self._flow, self._session = XaaFlow(client), session

    def close(self) -> None:
        """Close the HTTP client of the sync token calls (if one was opened)."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close the HTTP clients of the token calls (if opened)."""
        if self._async is not None:
            await self._async.aclose()
        self.close()

    def _sync_client(self) -> XAAClient:
        if self._sync is None:
            self._sync = self.client_class(
                flow=self._flow, session=self._session, limits=self._limits
            )
        return self._sync

    def _async_client(self) -> AsyncXAAClient:
        if self._async is None:
            self._async = self.async_client_class(
                flow=self._flow, session=self._session, limits=self._limits
            )
        return self._async

    def covers(self, url: str) -> bool:
        """Whether the token may go to ``url``: the resource or an ``also_for`` URL."""
        return any(prefix.covers(url) for prefix in self._audience)

    def _pass_through(self, request: Any) -> Any:
        """A request the token may not go to, without a token of ours: httpx copies
        ``Authorization`` into a same-origin redirect's ``next_request`` (RFC 6750 §5.3)."""
        if request.headers.get("Authorization") in self._presented:
            del request.headers["Authorization"]
            request.headers.pop("DPoP", None)
        return request

    def _present(self, request: Any, token: AccessToken, nonce: str | None = None) -> None:
        """``Authorization``, plus a fresh proof with ``ath`` for a DPoP token (RFC 9449 §7)."""
        request.headers["Authorization"] = token.authorization()
        self._presented.append(token.authorization())  # thread-safe; maxlen drops the oldest
        if token.authorization().startswith(spec.TOKEN_TYPE_DPOP + " "):
            prover = self._flow.config.dpop
            if prover is None:
                raise ProtocolViolation(rules.TOKEN_TYPE, "a DPoP token but no DPoP key")
            request.headers["DPoP"] = prover.proof(
                request.method, str(request.url), nonce=nonce, access_token=token.token
            )

    def _steps(self, request: Any) -> Generator[Any, Any, None]:
        token: AccessToken = yield _NeedToken(self.scope)
        self._present(request, token)
        response = yield request
        nonce = _dpop_nonce(response) if "DPoP" in request.headers else None
        if nonce is not None:  # RFC 9449 §9: one retry with the resource server's nonce
            self._present(request, token, nonce)
            response = yield request
        if response.status_code not in (401, 403):
            return
        challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
        error = challenge.get("error")
        if error == "insufficient_user_authentication":
            max_age = challenge.get("max_age")
            raise StepUpRequired(
                int(max_age) if max_age and max_age.isdigit() else None,
                challenge.get("acr_values"),
            )
        if response.status_code == 401:
            need = _NeedToken(self.scope, token, challenge.get("resource_metadata"))
        elif response.status_code == 403 and error == "insufficient_scope":
            needed = parse_scope(challenge.get("scope"))
            if needed <= token.scopes:  # the token has it: the refusal is not about scope
                return
            self.scope = self.scope | needed
            need = _NeedToken(self.scope, required=needed)
        else:
            return
        token = yield need
        self._present(request, token)
        yield request

    def _get_sync(self, need: _NeedToken) -> AccessToken:
        client = self._sync_client()
        if need.stale is not None:
            client.discard(need.stale)
        return client.get_token(self.resource, need.scope, **self._options(need))

    async def _get_async(self, need: _NeedToken) -> AccessToken:
        client = self._async_client()
        if need.stale is not None:
            client.discard(need.stale)
        return await client.get_token(self.resource, need.scope, **self._options(need))

    def _options(self, need: _NeedToken) -> dict[str, Any]:
        options: dict[str, Any] = {"required_scope": need.required} if need.required else {}
        if self.authorization_server is not None:
            return {**options, "authorization_server": self.authorization_server}
        return {**options, "metadata_url": need.metadata_url}

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """The auth steps for ``Client`` (``httpx.Auth.sync_auth_flow``)."""
        if not self.covers(str(request.url)):
            yield self._pass_through(request)
            return
        steps = self._steps(request)
        item = next(steps)
        while True:
            value = self._get_sync(item) if isinstance(item, _NeedToken) else (yield item)
            try:
                item = steps.send(value)
            except StopIteration:
                return

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        """The auth steps for ``AsyncClient`` (``httpx.Auth.async_auth_flow``)."""
        if not self.covers(str(request.url)):
            yield self._pass_through(request)
            return
        steps = self._steps(request)
        item = next(steps)
        while True:
            if isinstance(item, _NeedToken):
                value = await self._get_async(item)
            else:
                value = yield item
            try:
                item = steps.send(value)
            except StopIteration:
                return


class XAAAuth(XAAAuthLogic, httpx.Auth):
    """``httpx.Auth`` that gets and renews XAA access tokens (sync and async clients)."""
