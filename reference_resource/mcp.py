"""The chat app as an MCP server (streamable HTTP, MCP Python SDK) at ``/mcp``, behind XAA.

- ``/mcp`` is its own protected resource (RFC 8707 ``<issuer>/mcp``) with RFC 9728
  metadata at ``/.well-known/oauth-protected-resource/mcp``; the chat AS issues its
  tokens for ID-JAGs whose ``resource`` names it (draft-03 §4.4, docs/mcp.md);
- a request without a valid token gets 401 with a ``WWW-Authenticate`` challenge
  naming that metadata (RFC 9728 §5.1), which leads an MCP client to the AS; a
  token with none of the resource's scopes gets 403 ``insufficient_scope``;
- the tools check their own scope (``chat.read`` to read, ``chat.write`` to post):
  a missing one is a tool error, never a traceback;
- a posted message is stored like the chat API's posts, with the account, the client,
  the IdP and the ``act`` chain ("alice via agent X", docs/actors.md).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from xaa import (
    AccessTokenClaims,
    AuditEvent,
    AuditSink,
    DpopVerifier,
    JwkSet,
    OAuthError,
    SigningKey,
    clean_text,
    parse_scope,
)
from xaa.actors import describe_delegation
from xaa.adapters.starlette import (
    BlockingCalls,
    authorize_request,
    protected_resource_route,
    to_starlette,
)
from xaa.resource import (
    ResourceServer,
    protected_resource_metadata,
    protected_resource_metadata_url,
)

from .settings import Settings
from .store import ChatStore

log = logging.getLogger("reference_resource.mcp")
MAX_MESSAGE_CHARS = 4000
TOKEN_KEY = "xaa_access_token"


@dataclass
class ChatMcp:
    """The routes to add to the chat app and the lifespan that runs the MCP sessions."""

    routes: list[BaseRoute] = field(default_factory=list)
    lifespan: Callable[[Any], contextlib.AbstractAsyncContextManager[None]] | None = None


class _Guarded:
    """The SDK's ASGI app behind :meth:`ResourceServer.authorize` (any one of the scopes)."""

    def __init__(self, app: Any, rs: ResourceServer, scopes: tuple[str, ...], calls: BlockingCalls):
        self.app, self.rs, self.scopes, self.calls = app, rs, scopes, calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            claims = await authorize_request(
                self.rs, request, self.scopes, any_of=True, calls=self.calls
            )
        except OAuthError as exc:
            log.info("mcp rejected: %s (%s)", exc.error, clean_text(exc.detail))
            await to_starlette(self.rs.response(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})[TOKEN_KEY] = claims
        await self.app(scope, receive, send)


def _token(ctx: Context) -> AccessTokenClaims:
    request = ctx.request_context.request
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    token = state.get(TOKEN_KEY)
    if not isinstance(token, AccessTokenClaims):  # the guard lets no request through without one
        raise ToolError("no access token")
    return token


def _need(token: AccessTokenClaims, scope: str) -> None:
    if scope not in parse_scope(token.scope):
        raise ToolError(f"insufficient_scope: {scope} is needed")


def build_server(settings: Settings, store: ChatStore, audit: AuditSink) -> MCPServer:
    """The MCP server and its tools over the chat store."""
    server = MCPServer("chat", instructions="Read and post chat messages for the signed-in user.")

    def record(token: AccessTokenClaims, tool: str, decision: str = "issued") -> None:
        audit.emit(
            AuditEvent(
                event="resource.mcp_tool",
                decision=decision,
                issuer=settings.issuer,
                subject=token.sub,
                client_id=token.client_id,
                audience=settings.mcp_resource,
                actors=token.act.chain() if token.act else [],
                granted_scope=token.scope,
                jti=token.jti,
                extra={"tool": tool, "on_behalf": describe_delegation(token.sub, token.act)},
            )
        )

    @server.tool()
    def list_channels(ctx: Context) -> dict[str, Any]:
        """The chat's channels (needs ``chat.read``)."""
        token = _token(ctx)
        _need(token, "chat.read")
        record(token, "list_channels")
        return {"channels": store.channels()}

    @server.tool()
    def read_messages(channel: str, ctx: Context) -> dict[str, Any]:
        """The messages of ``channel`` (needs ``chat.read``)."""
        token = _token(ctx)
        _need(token, "chat.read")
        if not store.channel_exists(channel):
            raise ToolError(f"no channel {channel!r}")
        record(token, "read_messages")
        return {"channel": channel, "messages": store.messages(channel)}

    @server.tool()
    def post_message(channel: str, text: str, ctx: Context) -> dict[str, Any]:
        """Post ``text`` to ``channel`` for the signed-in user (needs ``chat.write``)."""
        token = _token(ctx)
        _need(token, "chat.write")
        if not store.channel_exists(channel):
            raise ToolError(f"no channel {channel!r}")
        if not 0 < len(text) <= MAX_MESSAGE_CHARS:
            raise ToolError(f"text must have 1 to {MAX_MESSAGE_CHARS} characters")
        claims = token.to_json()
        message = store.post(
            channel,
            text,
            account_id=token.sub,
            client_id=token.client_id,
            idp_iss=claims.get("idp_iss"),
            act=claims.get("act"),
        )
        record(token, "post_message")
        return message  # with its attribution: "alice via <actor>" (docs/actors.md)

    return server


def _transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: the issuer's host and loopback only."""
    parts = urlsplit(settings.issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[parts.netloc, "127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=[origin, "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def mount_mcp(
    settings: Settings,
    store: ChatStore,
    key: SigningKey,
    dpop: DpopVerifier | None,
    calls: BlockingCalls,
    audit: AuditSink,
) -> ChatMcp:
    """``/mcp`` and its RFC 9728 metadata (nothing in legacy mode or without MCP scopes)."""
    if settings.legacy or not settings.mcp_scopes:
        return ChatMcp()
    resource = settings.mcp_resource
    scopes = tuple(settings.mcp_scopes)
    rs = ResourceServer(
        resource,
        settings.issuer,
        JwkSet([key.verification_key()]),
        protected_resource_metadata_url(resource),
        dpop=dpop,
        require_dpop=settings.mcp_dpop_required,
    )
    server = build_server(settings, store, audit)
    server.streamable_http_app(
        stateless_http=True, json_response=True, transport_security=_transport_security(settings)
    )
    manager = server.session_manager
    metadata = protected_resource_metadata(resource, [settings.issuer], frozenset(scopes))
    if dpop is not None:
        metadata = metadata.model_copy(
            update={
                "dpop_signing_alg_values_supported": list(dpop.algs),
                "dpop_bound_access_tokens_required": settings.mcp_dpop_required,
            }
        )
    endpoint = _Guarded(StreamableHTTPASGIApp(manager), rs, scopes, calls)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        del app
        async with manager.run():
            yield

    return ChatMcp(
        [
            protected_resource_route(metadata),
            Route("/mcp", endpoint, methods=["GET", "POST", "DELETE"]),
        ],
        lifespan,
    )
