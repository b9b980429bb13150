"""MCP Python SDK (``mcp>=2.3``) server glue: ID-JAGs at an MCP authorization server.

The SDK's token handler authenticates the client, then calls the provider's
``exchange_identity_assertion(client, params)`` for the jwt-bearer grant
(SEP-990). :class:`IdJagExchange` is that method, backed by
:class:`~xaa.resource.JwtBearerEndpoint` steps 4-10 (verification against the
trust registry, replay, subject resolution, grants, RFC 9068 token, audit)::

    class ChatProvider:  # an OAuthAuthorizationServerProvider
        def __init__(self, endpoint):
            self._xaa = IdJagExchange(endpoint, JwksFetcher())

        async def exchange_identity_assertion(self, client, params):
            return await self._xaa(client, params)

The SDK's error type only knows RFC 6749/8707 codes: any other refusal
(``temporarily_unavailable``, ``invalid_authorization_details``,
``invalid_dpop_proof``) is reported as ``invalid_grant``; the audit log keeps
the real code. The SDK serializes whatever ``OAuthToken`` the hook returns, so
:class:`IdJagToken` (an ``OAuthToken`` with ``resource`` and
``authorization_details``) carries the granted values draft-03 §4.4.1 requires
in the response. :class:`AccessTokenVerifier` is the SDK ``TokenVerifier`` for
the resource server side (call it from ``load_access_token``).
"""

from __future__ import annotations

import time
from typing import Any, get_args

from ._extras import missing_extra

try:
    from mcp.server.auth.provider import (
        AccessToken,
        IdentityAssertionParams,
        TokenError,
        TokenErrorCode,
    )
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

    from .. import spec
    from .._audit import AuditTrace
    from .._errors import OAuthError, UnauthorizedClient
    from ..resource import JwtBearerEndpoint, ResourceServer
    from ._starlette_resource import JwksFetcher
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "mcp", exc) from None

_SDK_CODES = frozenset(get_args(TokenErrorCode))


class IdJagToken(OAuthToken):
    """The SDK's token response plus the granted ``resource`` (RFC 8707 §2) and
    ``authorization_details`` (RFC 9396 §7), as draft-03 §4.4.1 requires."""

    resource: str | list[str] | None = None
    authorization_details: list[dict[str, Any]] | None = None


def _token_error(exc: OAuthError) -> TokenError:
    code: Any = exc.error if exc.error in _SDK_CODES else "invalid_grant"
    return TokenError(error=code, error_description=exc.description)


class IdJagExchange:
    """``exchange_identity_assertion`` for an MCP ``OAuthAuthorizationServerProvider``."""

    def __init__(self, endpoint: JwtBearerEndpoint, fetcher: JwksFetcher | None = None) -> None:
        self.endpoint = endpoint
        self.fetcher = fetcher

    async def __call__(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> IdJagToken:
        """Redeem ``params.assertion`` for the SDK-authenticated ``client``; the answer
        reflects the granted scope, resource and authorization_details (draft-03 §4.4.1)."""
        now = time.time()
        endpoint = self.endpoint
        stale = endpoint.pending_refresh(params.assertion, now)
        if stale is not None and self.fetcher is not None:
            await self.fetcher.refresh(endpoint.trust, stale, now)
        form: dict[str, str] = {spec.P_ASSERTION: params.assertion}
        if params.scopes:
            form[spec.P_SCOPE] = " ".join(params.scopes)
        if params.resource:
            form[spec.P_RESOURCE] = params.resource
        trace = AuditTrace(client_id=client.client_id)
        try:
            if not endpoint.grants.grant_enabled(client.client_id, spec.GRANT_JWT_BEARER):
                raise UnauthorizedClient(detail="jwt-bearer not enabled for this client")
            issued = endpoint.redeem(form, client.client_id, {}, now, trace)
        except OAuthError as exc:
            endpoint.audit_denial(exc, trace)
            raise _token_error(exc) from None
        body = issued.response()
        details = body.authorization_details
        return IdJagToken(
            access_token=body.access_token,
            token_type="Bearer",
            expires_in=body.expires_in,
            scope=body.scope,
            resource=body.resource,
            authorization_details=[d.model_dump(mode="json") for d in details] if details else None,
        )


class AccessTokenVerifier:
    """The SDK ``TokenVerifier``: an RFC 9068 token for this resource, or ``None``."""

    def __init__(self, server: ResourceServer) -> None:
        self.server = server

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's view of a valid token (``claims`` keep ``act`` and ``idp_iss``)."""
        try:
            claims = self.server.authorize(
                {spec.H_AUTHORIZATION: f"Bearer {token}"}, (), (), now=time.time()
            )
        except OAuthError:
            return None
        return AccessToken(
            token=token,
            client_id=claims.client_id,
            scopes=sorted(claims.scopes),
            expires_at=claims.exp,
            resource=self.server.resource,
            subject=claims.sub,
            claims=claims.to_json(),
        )


__all__ = ["AccessTokenVerifier", "IdJagExchange", "IdJagToken"]
