"""Starlette (and FastAPI) binding: xaa's endpoints as routes, the HTTP edge as middleware.

- Resource side: :func:`token_route` (jwt-bearer, draft §4.4), :func:`metadata_routes`
  (RFC 8414, RFC 9728), :func:`requires` and :func:`protected_resource_route` (RFC 6750,
  RFC 9449), :class:`JwksFetcher` (the IdP's keys, fetched off the event loop).
- IdP side: :func:`idp_routes` (token exchange, draft §4.3, and metadata).
- Edge: :class:`HttpEdge` (body size and time limits, 413/408), :class:`BlockingCalls`
  (store calls off the loop, 503 when a store stalls), :func:`to_starlette` for an
  endpoint's ``(status, headers, body)``.

Needs the ``server`` extra: ``pip install 'xaa[server]'``.
"""

from ._extras import missing_extra

try:
    from ._starlette_common import (
        BODY_TIMEOUT,
        HTML_SECURITY_HEADERS,
        MAX_BODY_BYTES,
        AuditAddressMiddleware,
        BlockingCalls,
        HttpEdge,
        RequestTimeout,
        RequestTooLarge,
        error_response,
        lower_headers,
        read_body,
        read_form_body,
        to_starlette,
    )
    from ._starlette_idp import idp_routes, json_document, token_exchange_handler
    from ._starlette_resource import (
        JwksFetcher,
        authorize_request,
        handle_token_form,
        metadata_routes,
        protected_resource_route,
        requires,
        token_route,
    )
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "server", exc) from None

__all__ = [
    "BODY_TIMEOUT",
    "HTML_SECURITY_HEADERS",
    "MAX_BODY_BYTES",
    "AuditAddressMiddleware",
    "BlockingCalls",
    "HttpEdge",
    "JwksFetcher",
    "RequestTimeout",
    "RequestTooLarge",
    "authorize_request",
    "error_response",
    "handle_token_form",
    "idp_routes",
    "json_document",
    "lower_headers",
    "metadata_routes",
    "protected_resource_route",
    "read_body",
    "read_form_body",
    "requires",
    "to_starlette",
    "token_exchange_handler",
    "token_route",
]
