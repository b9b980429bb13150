"""Django binding (``pip install 'xaa[django]'``): the resource AS, the IdP and scope checks.

- :func:`resource_urls`: ``POST /token`` (jwt-bearer, draft §4.4), RFC 8414 metadata
  and the AS's JWKS, RFC 9728 metadata of each protected resource, as URL patterns;
- :func:`idp_urls`: the IdP's token exchange (draft §4.3), JWKS, both well-knowns;
- :func:`requires`: a view decorator checking the access token (Bearer, or DPoP with
  a proof verifier, RFC 9449 §7.1) for scopes;
- :class:`AccessTokenMiddleware`: the same check for every path under a prefix of
  ``settings.XAA_PROTECTED_PATHS`` (``{"/notes/": ["notes.read"]}``) against
  ``settings.XAA_RESOURCE_SERVER`` (a ``ResourceServer``, a callable returning one,
  or a dotted path to either).

Both put the verified claims in ``request.access_token`` and the actor chain
(current actor first) in ``request.actors``. The edge matches the Starlette
binding (docs/frameworks.md): form bodies capped (413), a repeated
``Authorization`` header is 400 ``invalid_request``, every token response and error
carries ``Cache-Control: no-store``, bad input is never a 500. The token views are
CSRF-exempt: they authenticate the client, never a browser session.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._errors import ConfigurationError
from ._extras import missing_extra

try:
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig
    from django.http import HttpRequest, RawPostDataException
    from django.http import HttpResponse as DjangoResponse
    from django.urls import URLPattern, re_path
    from django.utils.module_loading import import_string
    from django.views.decorators.csrf import csrf_exempt

    from .._errors import HttpResponse
    from .._models import AuthorizationServerMetadata, ProtectedResourceMetadata
    from ..idp import TokenExchangeEndpoint
    from ..resource import JwtBearerEndpoint, ResourceServer
    from ._wsgi_common import (
        BodyErrors,
        Endpoint,
        SyncJwksFetcher,
        answer,
        check_access,
        check_scopes,
        idp_endpoints,
        resource_endpoints,
    )
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "django", exc) from None

__all__ = [
    "AccessTokenMiddleware",
    "endpoint_urls",
    "idp_urls",
    "requires",
    "resource_urls",
    "to_django",
]

View = Callable[..., Any]
ServerSource = ResourceServer | Callable[[], ResourceServer] | str

# A middleware read the body first, over Django's own cap: 413; the client went away,
# or the body was consumed already: a body unreadable.
_BODY_ERRORS = BodyErrors(
    (RequestDataTooBig,), (OSError, RawPostDataException), "DATA_UPLOAD_MAX_MEMORY_SIZE"
)


def to_django(response: HttpResponse) -> DjangoResponse:
    """Send a sans-I/O ``(status, headers, body)`` through Django."""
    out = DjangoResponse(response.body, status=response.status)
    for name, value in response.headers.items():
        out[name] = value
    return out


def _view(endpoint: Endpoint) -> View:
    allowed = (endpoint.method, "HEAD") if endpoint.method == "GET" else (endpoint.method,)

    def view(request: HttpRequest) -> DjangoResponse:
        if request.method not in allowed:
            refused = DjangoResponse(status=405)
            refused["allow"] = ", ".join(allowed)
            return refused
        return to_django(answer(endpoint, request.META, lambda: request, _BODY_ERRORS))

    exempt: View = csrf_exempt(view)
    return exempt


def endpoint_urls(endpoints: Sequence[Endpoint]) -> list[URLPattern]:
    """URL patterns mounting ``endpoints`` (what :func:`resource_urls` and :func:`idp_urls`
    mount); include them at the root of the URLconf: the paths are the ones the metadata
    publishes."""
    return [
        re_path(r"^" + re.escape(e.path.lstrip("/")) + r"$", _view(e), name=f"xaa-{e.name}")
        for e in endpoints
    ]


def resource_urls(
    endpoint: JwtBearerEndpoint,
    metadata: AuthorizationServerMetadata,
    jwks: Mapping[str, Any],
    resources: Iterable[ProtectedResourceMetadata] = (),
    *,
    fetcher: SyncJwksFetcher | None = None,
) -> list[URLPattern]:
    """The resource AS's routes: token, AS metadata, JWKS, protected resource metadata."""
    return endpoint_urls(resource_endpoints(endpoint, metadata, jwks, resources, fetcher=fetcher))


def idp_urls(
    endpoint: TokenExchangeEndpoint, metadata: AuthorizationServerMetadata
) -> list[URLPattern]:
    """The IdP's routes: token exchange, JWKS and both well-known metadata paths."""
    return endpoint_urls(idp_endpoints(endpoint, metadata))


def _server(source: ServerSource) -> ResourceServer:
    if isinstance(source, str):
        source = import_string(source)
    if isinstance(source, ResourceServer):
        return source
    if callable(source):
        found = source()
        if isinstance(found, ResourceServer):
            return found
    raise ConfigurationError(
        "XAA_RESOURCE_SERVER must be a ResourceServer or a callable returning one"
    )


def _check(
    server: ResourceServer, request: HttpRequest, scopes: Sequence[str], any_of: bool
) -> DjangoResponse | None:
    """Check the request's token; on success annotate the request and return ``None``.

    A token this server already verified for the request (the middleware ran) is not
    verified again: only ``scopes`` are checked (:func:`~.wsgi_common.check_scopes`).
    """
    earlier = getattr(request, "_xaa_access", None)
    if earlier is not None and earlier[0] is server:
        refused = check_scopes(server, earlier[1], scopes, any_of=any_of)
        return to_django(refused) if refused is not None else None
    access = check_access(
        server,
        request.META,
        list(request.GET.keys()),
        scopes,
        any_of=any_of,
        method=request.method or "GET",
        path=request.path,
    )
    if isinstance(access, HttpResponse):
        return to_django(access)
    request._xaa_access = (server, access)
    request.access_token = access.claims
    request.actors = access.actors
    return None


def requires(source: ServerSource, *scopes: str, any_of: bool = False) -> Callable[[View], View]:
    """Guard a view: a valid access token with ``scopes`` (all, or one with ``any_of``).

    ``source``: the ``ResourceServer``, or a callable (or dotted path) returning it
    when the first request comes, so settings may be read late.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = _check(_server(source), request, scopes, any_of)
            return refused if refused is not None else view(request, *args, **kwargs)

        return guarded

    return decorate


class AccessTokenMiddleware:
    """Checks the access token of every request under a ``settings.XAA_PROTECTED_PATHS``
    prefix (the longest matching prefix's scopes apply); other requests pass untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        rules: Mapping[str, Sequence[str]] = getattr(settings, "XAA_PROTECTED_PATHS", {})
        self.rules = sorted(
            ((prefix, tuple(scopes)) for prefix, scopes in rules.items()),
            key=lambda rule: len(rule[0]),
            reverse=True,
        )
        self.source: ServerSource = settings.XAA_RESOURCE_SERVER

    def __call__(self, request: HttpRequest) -> Any:
        for prefix, scopes in self.rules:
            if request.path.startswith(prefix):
                refused = _check(_server(self.source), request, scopes, False)
                if refused is not None:
                    return refused
                break
        return self.get_response(request)
