"""An MCP server (MCP Python SDK, streamable HTTP) whose tokens come from ID-JAGs.

One process is both the MCP server (``/mcp``) and its authorization server:

- the SDK's ``AuthSettings`` with ``identity_assertion_enabled=True`` serve
  ``POST /token`` for the jwt-bearer grant; the SDK authenticates the client,
  then calls ``exchange_identity_assertion``, which is xaa's
  :class:`~xaa.adapters.mcp_server.IdJagExchange` (draft-03 §4.4);
- ``load_access_token`` verifies the RFC 9068 access token with xaa's
  :class:`~xaa.adapters.mcp_server.AccessTokenVerifier`;
- RFC 9728 protected resource metadata comes from the SDK; the RFC 8414
  document is xaa's, listing only the jwt-bearer grant (the SDK's own would also
  list ``authorization_code`` and ``refresh_token``, which are not served here).

Run (after ``xaa idp serve --config examples/mcp/idp.toml``)::

    .venv/bin/python -m examples.mcp.server

DEMO ONLY: the client secret below is public, the stores are in memory.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    TokenError,
)
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.applications import Starlette

from xaa import AuditEvent, JwkSet, RegisteredClient, SigningKey, spec
from xaa.adapters.mcp_server import AccessTokenVerifier, IdJagExchange
from xaa.adapters.starlette import JwksFetcher, metadata_routes
from xaa.resource import (
    AccountResolver,
    ClientGrant,
    JwtBearerEndpoint,
    MemoryAccountStore,
    ResourceServer,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
    authorization_server_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import MemoryReplayStore

ISSUER = "http://127.0.0.1:9800"  # this AS; the MCP endpoint is ISSUER + "/mcp"
IDP = "http://127.0.0.1:9400"  # the reference IdP (xaa idp serve)
CLIENT_ID, CLIENT_SECRET = "assistant-at-notes", "assistant-notes-secret"  # DEMO ONLY
SCOPES = frozenset({"notes.read", "notes.write"})

log = logging.getLogger("examples.mcp.server")


class LogAudit:
    """xaa's audit events (who, which client, which IdP, granted what) to the log."""

    def emit(self, event: AuditEvent) -> None:
        log.info("audit %s", event.model_dump_json(exclude_defaults=True))


class NoClientStore:
    """xaa's ``ClientStore``: unused here, the SDK authenticates the client."""

    def get_client(self, client_id: str) -> RegisteredClient | None:
        del client_id
        return None


@dataclass
class XaaProvider:
    """The SDK's ``OAuthAuthorizationServerProvider`` of an AS that serves only ID-JAGs."""

    clients: dict[str, OAuthClientInformationFull]
    exchange: IdJagExchange
    verifier: AccessTokenVerifier

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        return await self.exchange(client, params)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return await self.verifier.verify_token(token)

    # Everything else is refused: no registration, no code flow, no refresh tokens.
    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        raise NotImplementedError("clients are configured, not registered")

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        raise AuthorizeError("unauthorized_client", "only the jwt-bearer grant is served")

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return None

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type")

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type")

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        return None


@dataclass
class Notes:
    """The tools' state: notes per local account (the access token's ``sub``)."""

    by_account: dict[str, list[str]] = field(default_factory=dict)


def _caller() -> AccessToken:
    token = get_access_token()
    if token is None:  # RequireAuthMiddleware lets no request through without one
        raise ToolError("no access token")
    return token


def build_mcp(issuer: str, idp: str, signing_key: SigningKey) -> MCPServer:
    """The MCP server with its tools, XAA behind the SDK's auth settings."""
    resource = issuer + "/mcp"
    endpoint = JwtBearerEndpoint(
        issuer=issuer,
        token_endpoint=issuer + "/token",
        signing_key=signing_key,
        clients=NoClientStore(),
        # The client again, in xaa's grant policy: may use jwt-bearer, at most these scopes.
        grants=StaticGrantPolicy([ClientGrant(CLIENT_ID, scopes=SCOPES)]),
        trust=TrustRegistry([TrustedIssuer(idp)]),  # keys from the IdP's metadata
        replay=MemoryReplayStore(),  # each ID-JAG once; share it (Redis) across workers
        subjects=AccountResolver(MemoryAccountStore()),  # accounts from the ID-JAG's email
        resources=[ServedResource(resource, SCOPES)],
        audit=LogAudit(),
    )
    verifier = AccessTokenVerifier(
        ResourceServer(
            resource,
            issuer,
            JwkSet([signing_key.verification_key()]),
            protected_resource_metadata_url(resource),
        )
    )
    client = OAuthClientInformationFull(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_endpoint_auth_method=spec.AUTH_CLIENT_SECRET_BASIC,
        grant_types=[spec.GRANT_JWT_BEARER],
        scope=" ".join(sorted(SCOPES)),
    )
    provider = XaaProvider({CLIENT_ID: client}, IdJagExchange(endpoint, JwksFetcher()), verifier)
    mcp = MCPServer(
        "notes",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer,
            resource_server_url=resource,
            identity_assertion_enabled=True,
            validate_token_resource=True,
            required_scopes=["notes.read"],
        ),
    )
    notes = Notes()

    @mcp.tool()
    def whoami() -> dict[str, Any]:
        """Who the access token speaks for: the local account, the client and the IdP."""
        token = _caller()
        claims = token.claims or {}
        return {
            "account": token.subject,
            "client_id": token.client_id,
            "idp": claims.get("idp_iss"),
            "scopes": token.scopes,
        }

    @mcp.tool()
    def add_note(text: str) -> dict[str, Any]:
        """Add a note for the caller (needs ``notes.write``); returns the caller's notes."""
        token = _caller()
        if "notes.write" not in token.scopes:  # an expected refusal: no traceback logged
            raise ToolError("notes.write is needed")
        mine = notes.by_account.setdefault(token.subject or "", [])
        mine.append(text)
        return {"account": token.subject, "notes": list(mine)}

    return mcp


def build_app(issuer: str = ISSUER, idp: str = IDP) -> Starlette:
    """The ASGI app: the SDK's routes, with xaa's RFC 8414 document served first."""
    signing_key = SigningKey.generate("ES256", kid="notes-as-1")  # keep it in a key store
    mcp = build_mcp(issuer, idp, signing_key)
    app = mcp.streamable_http_app()
    metadata = authorization_server_metadata(
        issuer,
        grant_types=[spec.GRANT_JWT_BEARER],
        auth_methods=[spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_CLIENT_SECRET_POST],
        scopes=SCOPES,
        # Served by the SDK's routes; its client refuses metadata without it (docs/mcp.md).
        authorization_endpoint=issuer.rstrip("/") + "/authorize",
    )
    # RFC 8414 metadata and the JWKS it names, before the SDK's document (routes match in order).
    app.router.routes[:0] = metadata_routes(metadata, {"keys": [signing_key.public_jwk()]})
    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m examples.mcp.server [--issuer URL] [--idp URL]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default=ISSUER)
    parser.add_argument("--idp", default=IDP)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    port = int(args.issuer.rsplit(":", 1)[1].split("/")[0])
    uvicorn.run(build_app(args.issuer, args.idp), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
