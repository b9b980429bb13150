"""What the vendor adds for XAA: a resource AS that redeems ID-JAGs (draft §4.4) and the
checks that protect the notes API (RFC 9068 tokens, RFC 6750 errors), all from xaa's
public API.

- ``POST /token``: the jwt-bearer grant (RFC 7523) for clients in the vendor's store;
- ``/.well-known/oauth-authorization-server`` (RFC 8414, draft §7.2) and ``/jwks.json``;
- ``/.well-known/oauth-protected-resource/notes`` (RFC 9728);
- :meth:`VendorAuth.scopes`: a FastAPI dependency that returns the verified claims.

The AS signing key lives in a key file (``SigningKey.load_or_generate``), so a restart
keeps its ``kid`` and the tokens it already issued stay valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from xaa import AccessTokenClaims, AuditSink, HttpResponse, JwkSet, OAuthError, SigningKey, spec
from xaa.adapters.starlette import (
    JwksFetcher,
    lower_headers,
    metadata_routes,
    protected_resource_route,
    to_starlette,
    token_route,
)
from xaa.resource import (
    AccountResolver,
    JwtBearerEndpoint,
    ResourceServer,
    ServedResource,
    TrustedIssuer,
    TrustRegistry,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import SqliteReplayStore

from .stores import EveryRegisteredClient, VendorDb

SCOPES = frozenset({"notes.read", "notes.write"})


class TokenRejected(Exception):
    """A request to the API without a good token; the app answers with ``response``."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


async def token_rejected(request: Request, exc: Exception) -> Response:
    """FastAPI exception handler: the RFC 6750 error with its ``WWW-Authenticate``."""
    del request
    assert isinstance(exc, TokenRejected)
    return to_starlette(exc.response)


@dataclass
class VendorAuth:
    """The resource AS and the resource server of the notes API."""

    issuer: str
    resource: str
    endpoint: JwtBearerEndpoint
    server: ResourceServer
    routes: list[BaseRoute]

    @classmethod
    def build(
        cls,
        *,
        issuer: str,
        key_file: Path,
        db: VendorDb,
        replay_file: Path,
        trusted_idps: list[str],
        audit: AuditSink,
    ) -> VendorAuth:
        """Wire xaa for ``issuer``; every client in ``db`` may use jwt-bearer."""
        base = issuer.rstrip("/")
        resource = f"{base}/notes"
        key = SigningKey.load_or_generate(key_file)
        trust = TrustRegistry([TrustedIssuer(idp) for idp in trusted_idps])
        endpoint = JwtBearerEndpoint(
            issuer=issuer,
            token_endpoint=f"{base}/token",
            signing_key=key,
            clients=db,
            grants=EveryRegisteredClient(db),
            trust=trust,
            replay=SqliteReplayStore(replay_file),
            subjects=AccountResolver(db),
            resources=[ServedResource(resource, SCOPES)],
            audit=audit,
        )
        server = ResourceServer(
            resource, issuer, JwkSet([key.verification_key()]),
            protected_resource_metadata_url(resource),
        )  # fmt: skip
        metadata = authorization_server_metadata(
            issuer,
            grant_types=(spec.GRANT_JWT_BEARER,),
            auth_methods=(spec.AUTH_CLIENT_SECRET_BASIC,),
            scopes=SCOPES,
            # no authorization_endpoint=: only the token endpoint is served here
        )
        routes: list[BaseRoute] = [
            token_route(endpoint, JwksFetcher()),
            *metadata_routes(metadata, {"keys": [key.public_jwk()]}),
            protected_resource_route(protected_resource_metadata(resource, [issuer], SCOPES)),
        ]
        return cls(issuer, resource, endpoint, server, routes)

    def scopes(self, *needed: str) -> Callable[[Request], AccessTokenClaims]:
        """A FastAPI dependency: the verified claims of a token holding every scope in
        ``needed``, else :class:`TokenRejected` (401 ``invalid_token``, 403
        ``insufficient_scope``)."""
        server = self.server

        def dependency(request: Request) -> AccessTokenClaims:
            try:
                return server.authorize(
                    lower_headers(request),
                    request.query_params.keys(),
                    needed,
                    method=request.method,
                    path=request.url.path,
                )
            except OAuthError as exc:
                raise TokenRejected(server.response(exc)) from None

        return dependency


__all__ = ["SCOPES", "TokenRejected", "VendorAuth", "token_rejected"]
