"""The endpoints for synchronous (WSGI) frameworks: Flask, Django, authlib.

- :class:`Endpoint`: one route as data (path, method, whether it takes a form, and
  ``handle(headers, body) -> HttpResponse``); :func:`resource_endpoints` and
  :func:`idp_endpoints` list what a resource AS and an IdP serve, and each binding
  only mounts them;
- :class:`SyncJwksFetcher`: drives the trust registry's refresh flow with a blocking
  HTTP client (https, http only on loopback, no redirects, size and time caps);
- :func:`redeem`: one jwt-bearer token request (draft §4.4): parse, refresh the
  IdP's keys when the registry asks for it, then :meth:`JwtBearerEndpoint.handle_form`;
- :func:`check_access`: one protected request (RFC 6750, RFC 9449 §7.1): the
  verified claims or the refusal to send;
- :func:`answer`: one request to an :class:`Endpoint` (headers, the form body read
  capped through :class:`BodyErrors`, then ``handle``).

The framework bindings only read their request into these and write the answer back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import spec
from .._audit import clean_text
from .._dpop import DEFAULT_DPOP_ALGS, www_authenticate_dpop
from .._errors import HttpResponse, InsufficientScope, InvalidRequest, OAuthError, json_response
from .._models import AccessTokenClaims, AuthorizationServerMetadata, ProtectedResourceMetadata
from ..actors import actor_chain
from ..idp import TokenExchangeEndpoint
from ..resource import (
    JwtBearerEndpoint,
    ResourceServer,
    TrustRegistry,
    drive,
    protected_resource_metadata_url,
)
from ..resource._trust import FetchResult
from ._fetch_common import FETCH_FAILURES, FetchPolicy
from ._http_common import (
    Readable,
    RequestTooLarge,
    declared_length,
    read_capped,
    require_form,
    wsgi_headers,
)

__all__ = [
    "Access",
    "BodyErrors",
    "Endpoint",
    "SyncJwksFetcher",
    "answer",
    "check_access",
    "check_scopes",
    "document",
    "idp_endpoints",
    "redeem",
    "refusal",
    "resource_endpoints",
]

log = logging.getLogger("xaa.http")


class SyncJwksFetcher(FetchPolicy[httpx.BaseTransport]):
    """Fetches IdP metadata and JWKS for the trust registry under the shared
    :class:`~._fetch_common.FetchPolicy`; any failure is ``None`` (the registry keeps
    its stale keys, docs/security.md "Metadata and keys")."""

    def fetch(self, client: httpx.Client, url: str) -> FetchResult:
        """The JSON object at ``url``, or ``None`` (a malformed URL, a failed fetch, a body
        over the cap, or JSON that is not an object or nests too deep)."""
        if not self.allows(url):
            return None
        body = bytearray()
        try:
            with client.stream("GET", url, headers={"accept": "application/json"}) as answer:
                if answer.status_code != 200:
                    return None
                for chunk in answer.iter_bytes():
                    body += chunk
                    if self.over_cap(body):
                        return None
        except FETCH_FAILURES:
            return None
        return self.document(body)

    def refresh(self, trust: TrustRegistry, issuer: str, now: float) -> None:
        """Drive the registry's refresh flow for ``issuer``."""
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, transport=self.transport
        ) as client:
            drive(trust.refresh_flow(issuer, now), lambda url: self.fetch(client, url))


def redeem(
    endpoint: JwtBearerEndpoint,
    fetcher: SyncJwksFetcher,
    headers: Mapping[str, str],
    body: bytes,
) -> HttpResponse:
    """A jwt-bearer token request (draft §4.4) as ``(status, headers, body)``."""
    try:
        form = endpoint.parse(body)
    except OAuthError as exc:
        endpoint.audit_denial(exc)
        return refusal(exc, where="token")
    now = time.time()
    stale = endpoint.pending_refresh(form.get(spec.P_ASSERTION), now)
    if stale is not None:
        fetcher.refresh(endpoint.trust, stale, now)
    return endpoint.handle_form(headers, form, now=now)


def refusal(exc: OAuthError, *, where: str) -> HttpResponse:
    """Log the private detail (escaped and bounded), answer the public error (RFC 6749 §5.2)."""
    log.info("%s rejected: %s (%s)", where, exc.error, clean_text(exc.detail))
    return exc.to_response()


@dataclass(frozen=True, slots=True)
class Access:
    """What a protected view gets: the verified claims and the actor chain, current
    actor first (docs/actors.md)."""

    claims: AccessTokenClaims
    actors: list[str]


def check_access(
    server: ResourceServer,
    environ: Mapping[str, Any],
    query: Collection[str],
    scopes: Collection[str],
    *,
    any_of: bool = False,
    method: str = "GET",
    path: str = "/",
) -> Access | HttpResponse:
    """The verified access for a WSGI request, or the refusal to send: 401/403 with
    ``WWW-Authenticate`` (RFC 6750 §3.1), 400 for a repeated ``Authorization``."""
    try:
        headers = wsgi_headers(environ)
    except OAuthError as exc:
        exc.headers[spec.H_WWW_AUTHENTICATE] = server.challenge(exc)
        return refusal(exc, where="resource")
    try:
        claims = server.authorize(headers, query, scopes, any_of=any_of, method=method, path=path)
    except OAuthError as exc:
        log.info("resource rejected: %s (%s)", exc.error, clean_text(exc.detail))
        return server.response(exc)
    return Access(claims, actor_chain(claims))


def check_scopes(
    server: ResourceServer, access: Access, scopes: Collection[str], *, any_of: bool = False
) -> HttpResponse | None:
    """``scopes`` against a token ``server`` already verified for this request (the Django
    middleware, then a decorator): the proof is not checked twice (a DPoP ``jti`` is
    single use, RFC 9449 §11.1). ``None`` when the scopes are held, else the 403."""
    held = access.claims.scopes & set(scopes)
    if not scopes or (held if any_of else held == set(scopes)):
        return None
    needed = " ".join(sorted(scopes))
    denied = InsufficientScope(detail="scope missing", extra={"scope": needed})
    if access.claims.cnf is not None:  # a DPoP-bound token: the DPoP challenge
        params = {"scope": needed, "resource_metadata": server.resource_metadata_url}
        denied.headers[spec.H_WWW_AUTHENTICATE] = www_authenticate_dpop(
            algs=server.dpop.algs if server.dpop else DEFAULT_DPOP_ALGS,
            error=denied.error,
            error_description=denied.description,
            params=params,
        )
    else:
        denied.headers[spec.H_WWW_AUTHENTICATE] = server.challenge(denied, needed)
    return refusal(denied, where="resource")


Handler = Callable[[Mapping[str, str], bytes], HttpResponse]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route: ``handle(headers, body)`` answers a ``method`` request to ``path``;
    ``form``: the body must be ``application/x-www-form-urlencoded`` (read capped)."""

    path: str
    method: str
    handle: Handler
    form: bool = False
    name: str = ""


def document(body: Mapping[str, Any], *, max_age: int = 300) -> Handler:
    """A GET handler serving a public JSON document, cacheable for ``max_age`` seconds."""
    frozen = dict(body)

    def handle(headers: Mapping[str, str], request_body: bytes) -> HttpResponse:
        del headers, request_body
        status, out, payload = json_response(200, frozen)
        out["cache-control"] = f"public, max-age={max_age}"
        out.pop("pragma", None)
        return HttpResponse(status, out, payload)

    return handle


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def resource_endpoints(
    endpoint: JwtBearerEndpoint,
    metadata: AuthorizationServerMetadata,
    jwks: Mapping[str, Any],
    resources: Iterable[ProtectedResourceMetadata] = (),
    *,
    fetcher: SyncJwksFetcher | None = None,
) -> list[Endpoint]:
    """The resource AS: ``POST`` token (draft §4.4), RFC 8414 §3 metadata (path-aware),
    its JWKS, and the RFC 9728 §3 metadata of each protected resource."""
    keys = fetcher or SyncJwksFetcher()
    issuer_path = urlsplit(metadata.issuer).path.rstrip("/")

    def token(headers: Mapping[str, str], body: bytes) -> HttpResponse:
        return redeem(endpoint, keys, headers, body)

    out = [
        Endpoint(_path(metadata.token_endpoint or spec.PATH_TOKEN), "POST", token, True, "token"),
        Endpoint(
            f"{spec.WELL_KNOWN_OAUTH_AS}{issuer_path}", "GET", document(metadata.to_json()),
            name="as-metadata",
        ),
        Endpoint(_path(metadata.jwks_uri or spec.PATH_JWKS), "GET", document(jwks), name="jwks"),
    ]  # fmt: skip
    for prm in resources:
        url = protected_resource_metadata_url(prm.resource)
        out.append(Endpoint(_path(url), "GET", document(prm.to_json()), name="resource-metadata"))
    return out


def idp_endpoints(
    endpoint: TokenExchangeEndpoint,
    metadata: AuthorizationServerMetadata,
) -> list[Endpoint]:
    """The IdP (draft §4.3, §7.1): ``POST`` token exchange, its JWKS and both well-knowns."""
    meta = document(metadata.to_json())

    def token(headers: Mapping[str, str], body: bytes) -> HttpResponse:
        return endpoint.handle(headers, body)

    def jwks(headers: Mapping[str, str], body: bytes) -> HttpResponse:
        return document(endpoint.keys.verification_keys().jwks())(headers, body)

    return [
        Endpoint(_path(metadata.token_endpoint or spec.PATH_TOKEN), "POST", token, True, "token"),
        Endpoint(_path(metadata.jwks_uri or "/jwks"), "GET", jwks, name="jwks"),
        Endpoint(spec.WELL_KNOWN_OAUTH_AS, "GET", meta, name="as-metadata"),
        Endpoint(spec.WELL_KNOWN_OPENID, "GET", meta, name="openid-configuration"),
    ]


@dataclass(frozen=True, slots=True)
class BodyErrors:
    """What a framework raises while its request body is read: ``too_large`` (over its
    own cap, named ``cap``: 413) and ``unreadable`` (a body cut short: 400)."""

    too_large: tuple[type[Exception], ...] = ()
    unreadable: tuple[type[Exception], ...] = ()
    cap: str = "the framework's cap"


def read_form(environ: Mapping[str, Any], stream: Readable, errors: BodyErrors) -> bytes:
    """A token request's body: ``application/x-www-form-urlencoded`` only (RFC 6749
    §3.2), read capped (413); the framework's ``errors`` become the same refusals."""
    require_form(environ.get("CONTENT_TYPE"))
    declared = declared_length(environ.get("CONTENT_LENGTH"))
    try:
        return read_capped(stream, declared)
    except errors.too_large:
        raise RequestTooLarge(detail=f"over {errors.cap}") from None
    except errors.unreadable:
        raise InvalidRequest(detail="request body unreadable") from None


def answer(
    endpoint: Endpoint, environ: Mapping[str, Any], stream: Readable, errors: BodyErrors
) -> HttpResponse:
    """``endpoint``'s answer to a WSGI request: one ``Authorization`` header, the form
    body when it takes one (:func:`read_form`), then ``endpoint.handle``; a refusal at
    the edge is logged and answered (RFC 6749 §5.2)."""
    try:
        headers = wsgi_headers(environ)
        body = read_form(environ, stream, errors) if endpoint.form else b""
    except OAuthError as exc:
        return refusal(exc, where=endpoint.name or endpoint.path)
    return endpoint.handle(headers, body)
