"""Flask binding (``pip install 'xaa[flask]'``): the resource AS, the IdP and a scope guard.

- :func:`resource_blueprint`: ``POST /token`` (jwt-bearer, draft §4.4), RFC 8414
  metadata and the AS's JWKS, RFC 9728 metadata of each protected resource;
- :func:`idp_blueprint`: the IdP's token exchange (draft §4.3), JWKS, both well-knowns;
- :func:`requires`: a view decorator checking the access token (Bearer, or DPoP
  with a proof verifier, RFC 9449 §7.1) for scopes; the view finds the verified
  claims in ``flask.g.access_token`` and the actor chain in ``flask.g.actors``.

The edge matches the Starlette binding (docs/frameworks.md): form bodies capped
(413), a repeated ``Authorization`` header is 400 ``invalid_request``, every token
response and error carries ``Cache-Control: no-store``, bad input is never a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from ._extras import missing_extra

try:
    import flask
    from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
        idp_endpoints,
        resource_endpoints,
    )
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "flask", exc) from None

__all__ = ["endpoints_blueprint", "idp_blueprint", "requires", "resource_blueprint", "to_flask"]

P = ParamSpec("P")
R = TypeVar("R")

# Over the app's own MAX_CONTENT_LENGTH: 413; any other HTTPException: a body cut short.
_BODY_ERRORS = BodyErrors((RequestEntityTooLarge,), (HTTPException,), "MAX_CONTENT_LENGTH")


def to_flask(response: HttpResponse) -> flask.Response:
    """Send a sans-I/O ``(status, headers, body)`` through Flask."""
    out = flask.Response(response.body, status=response.status)
    for name, value in response.headers.items():
        out.headers[name] = value
    return out


def _view(endpoint: Endpoint) -> Callable[[], flask.Response]:
    def view() -> flask.Response:
        request = flask.request
        return to_flask(answer(endpoint, request.environ, lambda: request.stream, _BODY_ERRORS))

    return view


def endpoints_blueprint(
    endpoints: Sequence[Endpoint], name: str = "xaa", import_name: str = __name__
) -> flask.Blueprint:
    """A blueprint mounting ``endpoints`` (what :func:`resource_blueprint` and
    :func:`idp_blueprint` mount)."""
    blueprint = flask.Blueprint(name, import_name)
    for index, endpoint in enumerate(endpoints):
        blueprint.add_url_rule(
            endpoint.path,
            endpoint=f"{endpoint.name or 'endpoint'}-{index}",
            view_func=_view(endpoint),
            methods=[endpoint.method],
        )
    return blueprint


def resource_blueprint(
    endpoint: JwtBearerEndpoint,
    metadata: AuthorizationServerMetadata,
    jwks: Mapping[str, Any],
    resources: Iterable[ProtectedResourceMetadata] = (),
    *,
    fetcher: SyncJwksFetcher | None = None,
    name: str = "xaa_resource_as",
) -> flask.Blueprint:
    """The resource AS's routes: token, AS metadata, JWKS, protected resource metadata."""
    routes = resource_endpoints(endpoint, metadata, jwks, resources, fetcher=fetcher)
    return endpoints_blueprint(routes, name)


def idp_blueprint(
    endpoint: TokenExchangeEndpoint, metadata: AuthorizationServerMetadata, *, name: str = "xaa_idp"
) -> flask.Blueprint:
    """The IdP's routes: token exchange, JWKS and both well-known metadata paths."""
    return endpoints_blueprint(idp_endpoints(endpoint, metadata), name)


def requires(
    server: ResourceServer, *scopes: str, any_of: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R | flask.Response]]:
    """Guard a view: a valid access token with ``scopes`` (all, or one with ``any_of``).

    Refusals are RFC 6750 §3.1 (401 ``invalid_token``, 403 ``insufficient_scope``)
    with a ``WWW-Authenticate`` naming the RFC 9728 metadata.
    """

    def decorate(view: Callable[P, R]) -> Callable[P, R | flask.Response]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | flask.Response:
            request = flask.request
            access = check_access(
                server,
                request.environ,
                list(request.args.keys()),
                scopes,
                any_of=any_of,
                method=request.method,
                path=request.script_root + request.path,
            )
            if isinstance(access, HttpResponse):
                return to_flask(access)
            flask.g.access_token = access.claims
            flask.g.actors = access.actors
            return view(*args, **kwargs)

        return guarded

    return decorate
