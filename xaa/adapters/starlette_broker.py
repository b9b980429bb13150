"""The broker's OAuth callback as a Starlette route (RFC 6749 §4.1.2, §10.12).

``GET <redirect_uri>?code=...&state=...[&iss=...]``: ``state`` must name an
outstanding, unexpired authorization request (single use); ``iss``, when sent
or advertised, must be the app's issuer (RFC 9207); the code is redeemed with its
PKCE verifier and the refresh token goes to the vault. The page never shows a
token. Errors are RFC 6749 JSON with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import html
import logging

from ._extras import missing_extra

try:
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from .._errors import AccessDenied, InvalidGrant, InvalidRequest, OAuthError, ProtocolViolation
    from ..broker._errors import BlockedByPolicy, BrokerError
    from ._broker_http import Broker
    from ._starlette_common import error_response
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "server,broker", exc) from None

__all__ = [
    "callback_route",
]

log = logging.getLogger("xaa.broker")
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def callback_route(broker: Broker, path: str = "/callback") -> Route:
    """A ``GET`` route at ``path`` completing the authorization code flow for ``broker``."""

    async def callback(request: Request) -> Response:
        params = request.query_params
        for name in ("state", "code", "error", "iss"):
            if len(params.getlist(name)) > 1:
                return error_response(InvalidRequest(detail=f"repeated {name}"), where="callback")
        if params.get("error"):
            try:
                broker.flow.pending.take(params.get("state"), broker.config.clock())
            except InvalidRequest as exc:
                return error_response(exc, where="callback")
            detail = f"authorization server answered {params.get('error', '')[:40]}"
            return error_response(AccessDenied(detail=detail), where="callback")
        try:
            minted = await broker.complete_authorization(
                params.get("state"), params.get("code"), params.get("iss")
            )
        except OAuthError as exc:
            if isinstance(exc, InvalidRequest):
                return error_response(exc, where="callback")
            return error_response(InvalidGrant(detail=exc.error), where="callback")
        except BlockedByPolicy as exc:
            return error_response(AccessDenied(detail=exc.error), where="callback")
        except (BrokerError, ProtocolViolation) as exc:
            log.info("callback failed: %s", type(exc).__name__)
            return error_response(InvalidGrant(detail=type(exc).__name__), where="callback")
        body = (
            "<!doctype html><title>Access granted</title>"
            f"<h1>Access to {html.escape(minted.app)} granted</h1>"
            f"<p id=granted>{html.escape(minted.person)} granted "
            f"{html.escape(' '.join(sorted(minted.access.scopes)))}"
            f" to {html.escape(minted.agent or 'the broker')}. You can close this window.</p>"
        )
        return HTMLResponse(body, headers=_NO_STORE)

    return Route(path, callback, methods=["GET"])
