"""Starlette routes for the IdP library: token exchange, JWKS and both well-knowns.

The token exchange's store calls (client, replay, refresh-token and audit stores)
run in worker threads through :class:`~xaa.adapters.starlette.BlockingCalls`,
never on the event loop, unless every store is in memory (``never_blocks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import spec
from .._errors import OAuthError, json_response
from .._models import AuthorizationServerMetadata
from ..idp import TokenExchangeEndpoint
from ._starlette_common import (
    BlockingCalls,
    error_response,
    lower_headers,
    read_form_body,
    to_starlette,
)

__all__ = ["idp_routes", "json_document", "token_exchange_handler"]


def token_exchange_handler(
    endpoint: TokenExchangeEndpoint, *, calls: BlockingCalls | None = None
) -> Callable[[Request], Any]:
    """An async handler running ``endpoint`` on each POST: on the event loop when every
    store answers without blocking (:attr:`TokenExchangeEndpoint.never_blocks`), else in
    a worker thread."""
    blocking = calls or BlockingCalls()
    inline = endpoint.never_blocks

    async def token(request: Request) -> Response:
        try:
            headers = lower_headers(request)
            body = await read_form_body(request)
            response = await blocking.step(lambda: endpoint.handle(headers, body), inline=inline)
            return to_starlette(response)
        except OAuthError as exc:
            return error_response(exc, where="token")

    return token


def json_document(produce: Callable[[], dict[str, Any]], *, max_age: int = 300) -> Any:
    """A GET handler serving a public JSON document (cacheable for ``max_age`` seconds)."""

    async def document(request: Request) -> Response:
        del request
        status, headers, body = json_response(200, produce())
        headers["cache-control"] = f"public, max-age={max_age}"
        headers.pop("pragma", None)
        return Response(content=body, status_code=status, headers=headers)

    return document


def idp_routes(
    endpoint: TokenExchangeEndpoint, metadata: AuthorizationServerMetadata
) -> list[Route]:
    """``POST /token``, ``GET /jwks`` and both well-known metadata paths."""
    doc = metadata.to_json()
    meta = json_document(lambda: doc)
    return [
        Route(spec.PATH_TOKEN, token_exchange_handler(endpoint), methods=["POST"]),
        Route("/jwks", json_document(lambda: endpoint.keys.verification_keys().jwks())),
        Route(spec.WELL_KNOWN_OAUTH_AS, meta),
        Route(spec.WELL_KNOWN_OPENID, meta),
    ]
