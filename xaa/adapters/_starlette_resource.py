"""Starlette routes for the resource side: token endpoint, metadata, JWKS, bearer checks.

- :func:`token_route`: ``POST /token`` driving :class:`~xaa.resource.JwtBearerEndpoint`;
  before the sans-I/O steps it refreshes the IdP's keys when the trust
  registry asks for it (:class:`JwksFetcher` does the HTTP).
- :func:`metadata_routes`: RFC 8414 AS metadata and the AS's JWKS.
- :func:`protected_resource_route`: RFC 9728 metadata at its path-aware URL.
- :func:`requires`: a per-route scope dependency; the verified claims land in
  ``request.state.access_token``, their ``act`` chain in ``request.state.actors``.

Blocking store calls (SQLite, Redis: replay, DPoP ``jti``, audit) run in worker
threads through :class:`~xaa.adapters.starlette.BlockingCalls`, never on the
event loop: a hung store fails its own requests with 503 and delays no other.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import spec
from .._audit import clean_text
from .._errors import HttpResponse, InvalidRequest, OAuthError
from .._forms import Form
from .._models import AccessTokenClaims, AuthorizationServerMetadata, ProtectedResourceMetadata
from .._replay import never_blocks
from ..actors import actor_chain
from ..resource import (
    JwtBearerEndpoint,
    ResourceServer,
    TrustRegistry,
    protected_resource_metadata_url,
)
from ..resource._trust import FetchResult
from ._fetch_common import FETCH_FAILURES, FetchPolicy
from ._starlette_common import (
    BlockingCalls,
    error_response,
    log,
    lower_headers,
    read_form_body,
    to_starlette,
)

Endpoint = Callable[[Request], Awaitable[Response]]


class JwksFetcher(FetchPolicy[httpx.AsyncBaseTransport]):
    """Fetches IdP metadata and JWKS under the shared :class:`~._fetch_common.FetchPolicy`:
    https (http only on loopback), no redirects, a size cap and a time cap. Any failure,
    a malformed URL included, is ``None`` (the registry keeps stale keys).

    Each refresh uses its own short-lived HTTP client (refreshes are rare: at
    most one per issuer per interval), so nothing outlives the event loop.
    """

    async def fetch(self, client: httpx.AsyncClient, url: str) -> FetchResult:
        """The JSON object at ``url``, or ``None``."""
        if not self.allows(url):
            return None
        body = bytearray()
        try:
            async with client.stream("GET", url, headers={"accept": "application/json"}) as r:
                if r.status_code != 200:
                    return None
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if self.over_cap(body):
                        return None
        except FETCH_FAILURES:
            return None
        return self.document(body)

    async def refresh(self, trust: TrustRegistry, issuer: str, now: float) -> None:
        """Drive the registry's refresh flow for ``issuer``."""
        flow = trust.refresh_flow(issuer, now)
        async with httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, transport=self.transport
        ) as client:
            try:
                url = next(flow)
                while True:
                    url = flow.send(await self.fetch(client, url))
            except StopIteration:
                return


def token_route(
    endpoint: JwtBearerEndpoint,
    fetcher: JwksFetcher,
    path: str = spec.PATH_TOKEN,
    *,
    calls: BlockingCalls | None = None,
) -> Route:
    """``POST path``: the jwt-bearer token endpoint (draft §4.4); its store calls run
    through ``calls`` (a fresh :class:`BlockingCalls` by default).

    The steps run on the event loop when every store answers without blocking
    (:attr:`JwtBearerEndpoint.never_blocks`), else in a worker thread; the replay
    claims (ID-JAG and DPoP ``jti``) are awaited on an
    :class:`~xaa.AsyncReplayStore`, made inline on a memory store, or in a thread.
    """
    blocking = calls or BlockingCalls()
    inline = endpoint.never_blocks

    def refuse(exc: OAuthError) -> None:
        endpoint.audit_denial(exc)

    async def token(request: Request) -> Response:
        try:
            try:
                headers = lower_headers(request)
                form = endpoint.parse(await read_form_body(request))
            except OAuthError as exc:
                await blocking.step(functools.partial(refuse, exc), inline=inline)
                return error_response(exc, where="token")
            now = time.time()
            stale = endpoint.pending_refresh(form.get(spec.P_ASSERTION), now)
            if stale is not None:
                await fetcher.refresh(endpoint.trust, stale, now)
            return to_starlette(await handle_token_form(endpoint, blocking, headers, form, now))
        except OAuthError as exc:  # the store did not answer in time
            return error_response(exc, where="token")

    return Route(path, token, methods=["POST"])


async def handle_token_form(
    endpoint: JwtBearerEndpoint,
    calls: BlockingCalls,
    headers: Mapping[str, str],
    form: Form,
    now: float,
) -> HttpResponse:
    """:meth:`JwtBearerEndpoint.handle_form` without blocking the event loop: the steps run
    on the loop when every store never blocks (:attr:`JwtBearerEndpoint.never_blocks`),
    else in a worker thread; the replay claims the flow yields go through
    :meth:`BlockingCalls.claim` (awaited on an :class:`~xaa.AsyncReplayStore`)."""
    # A client assertion's jti is claimed inside the steps, on the blocking API.
    inline = endpoint.never_blocks and (
        never_blocks(endpoint.replay) or spec.P_CLIENT_ASSERTION not in form
    )
    if type(endpoint).handle_form is not JwtBearerEndpoint.handle_form or (
        inline and never_blocks(endpoint.replay)
    ):
        # A subclass's own handle_form as it is; or every store in memory: one plain call.
        handled = functools.partial(endpoint.handle_form, headers, form, now=now)
        return await calls.step(handled, inline=inline)
    return await calls.drive(endpoint.handle_form_flow(headers, form, now=now), inline=inline)


def metadata_routes(metadata: AuthorizationServerMetadata, jwks: Mapping[str, Any]) -> list[Route]:
    """RFC 8414 §3 metadata (path-aware) and the JWKS it points at."""
    issuer_path = urlsplit(metadata.issuer).path.rstrip("/")
    document = metadata.to_json()
    keys = dict(jwks)

    async def as_metadata(request: Request) -> Response:
        del request
        return JSONResponse(document, headers={"cache-control": "max-age=300"})

    async def jwks_document(request: Request) -> Response:
        del request
        return JSONResponse(keys, headers={"cache-control": "max-age=300"})

    jwks_path = urlsplit(metadata.jwks_uri or spec.PATH_JWKS).path
    return [
        Route(f"/.well-known/oauth-authorization-server{issuer_path}", as_metadata),
        Route(jwks_path, jwks_document),
    ]


def protected_resource_route(metadata: ProtectedResourceMetadata) -> Route:
    """RFC 9728 §3: the metadata at the well-known URL derived from the resource."""
    path = urlsplit(protected_resource_metadata_url(metadata.resource)).path
    document = metadata.to_json()

    async def resource_metadata(request: Request) -> Response:
        del request
        return JSONResponse(document, headers={"cache-control": "max-age=300"})

    return Route(path, resource_metadata)


async def authorize_request(
    server: ResourceServer,
    request: Request,
    scopes: tuple[str, ...],
    *,
    any_of: bool = False,
    calls: BlockingCalls,
) -> AccessTokenClaims:
    """The verified access token of ``request`` for ``scopes`` (RFC 6750, RFC 9449).

    Raises the :class:`~xaa.OAuthError` to answer with ``server.response``; a
    repeated ``Authorization`` header is ``invalid_request`` with a challenge (RFC 6750
    §3.1). The check (a DPoP proof's ``jti`` goes to the replay store) runs through
    ``calls``.
    """
    try:
        headers = lower_headers(request)
    except InvalidRequest as exc:
        exc.headers[spec.H_WWW_AUTHENTICATE] = server.challenge(exc)
        raise
    query = list(request.query_params.keys())
    return await calls.run(
        lambda: server.authorize(
            headers, query, scopes, any_of=any_of, method=request.method, path=request.url.path
        )
    )


def requires(
    server: ResourceServer,
    *scopes: str,
    any_of: bool = False,
    calls: BlockingCalls | None = None,
) -> Callable[[Endpoint], Endpoint]:
    """Guard an endpoint: a valid access token with ``scopes`` (all, or one with ``any_of``),
    checked by :func:`authorize_request`."""
    blocking = calls or BlockingCalls()

    def decorate(handler: Endpoint) -> Endpoint:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            try:
                claims = await authorize_request(
                    server, request, scopes, any_of=any_of, calls=blocking
                )
            except OAuthError as exc:
                log.info("resource rejected: %s (%s)", exc.error, clean_text(exc.detail))
                return to_starlette(server.response(exc))
            request.state.access_token = claims
            request.state.actors = actor_chain(claims)  # current actor first (docs/actors.md)
            return await handler(request)

        return guarded

    return decorate


__all__ = [
    "JwksFetcher",
    "authorize_request",
    "handle_token_form",
    "metadata_routes",
    "protected_resource_route",
    "requires",
    "token_route",
]
