"""The reference chat app: a resource AS that redeems ID-JAGs and a small chat API.

``create_app(Settings())`` builds it; ``xaa resource serve`` runs it. With
``legacy=True`` it is the same app without XAA: no id-jag profile, jwt-bearer
answered with ``unsupported_grant_type``, only the code flow.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xaa import (
    AccessTokenClaims,
    AggregatingAuditSink,
    AuditEvent,
    ConfigurationError,
    DpopVerifier,
    InvalidRequest,
    InvalidToken,
    JwkSet,
    OAuthError,
    ProtectedResourceMetadata,
    RegisteredClient,
    ReplayStore,
    UnsupportedGrantType,
    parse_form,
    parse_json,
    spec,
)
from xaa.actors import ConfigResourceActorPolicy, describe_delegation
from xaa.adapters.starlette import (
    AuditAddressMiddleware,
    BlockingCalls,
    HttpEdge,
    JwksFetcher,
    error_response,
    handle_token_form,
    lower_headers,
    metadata_routes,
    protected_resource_route,
    read_body,
    read_form_body,
    requires,
    to_starlette,
)
from xaa.dpop import HmacNonceSource
from xaa.resource import (
    JwtBearerEndpoint,
    ResourceServer,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import MemoryReplayStore, SqliteReplayStore

from . import wiring
from .activity import activity_routes
from .code_flow import CodeFlow
from .mcp import mount_mcp
from .settings import CHANNELS, Settings
from .store import ChatStore

log = logging.getLogger("reference_resource")
MAX_MESSAGE_CHARS = 4000


class ChatAuditSink:
    """Audit events of the AS and the API: a JSON log line and a row in the chat database."""

    def __init__(self, store: ChatStore) -> None:
        self._store = store

    def emit(self, event: AuditEvent) -> None:
        log.info("audit %s", event.model_dump_json(exclude_defaults=True))
        self._store.emit(event)


class Clients:
    """The chat AS's confidential clients."""

    def __init__(self, clients: list[RegisteredClient]) -> None:
        self._clients = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)


def replay_store(settings: Settings) -> ReplayStore:
    """The replay store named by ``settings.replay``; a Redis store is pinged now, so an
    unreachable one fails at startup (:class:`xaa.ReplayStoreUnavailable`)."""
    if settings.replay == "memory":
        return MemoryReplayStore()
    if settings.replay == "sqlite":
        return SqliteReplayStore(settings.db)
    if settings.replay.startswith(("redis://", "rediss://", "unix://")):
        from xaa.adapters.redis_store import AsyncRedisReplayStore

        # Redemptions await their claims on the event loop (redis.asyncio): a hung Redis
        # holds no worker thread; the blocking API serves the other paths.
        store = AsyncRedisReplayStore(settings.replay)
        store.check()  # fail at startup when Redis cannot be reached
        store.check_persistence()  # a WARNING when a restart would reopen the replay window
        return store
    raise ConfigurationError("--replay must be memory, sqlite or a redis:// URL")


def _dpop_verifier(
    settings: Settings, replay: ReplayStore, store: ChatStore
) -> DpopVerifier | None:
    """RFC 9449 at /token and the API: one replay store, optional stateless nonces (their
    key in the database, so every worker process accepts the others' nonces)."""
    if not settings.dpop or settings.legacy:
        return None
    nonces = HmacNonceSource(store.server_secret("dpop-nonce")) if settings.dpop_nonces else None
    return DpopVerifier(replay, nonces=nonces)


def _resource_metadata(
    settings: Settings, scopes: frozenset[str], dpop: DpopVerifier | None
) -> ProtectedResourceMetadata:
    """RFC 9728 metadata, with the DPoP members (RFC 9728 §2) when DPoP is served."""
    metadata = protected_resource_metadata(settings.resource, [settings.issuer], scopes)
    if dpop is None:
        return metadata
    return metadata.model_copy(
        update={
            "dpop_signing_alg_values_supported": list(dpop.algs),
            "dpop_bound_access_tokens_required": settings.dpop_required,
        }
    )


def create_app(
    settings: Settings, *, endpoint_type: type[JwtBearerEndpoint] = JwtBearerEndpoint
) -> Starlette:
    """The chat app for ``settings`` (``endpoint_type``: a subclass composing the public
    steps of the jwt-bearer endpoint differently, as tests do)."""
    store = ChatStore(settings.db)
    store.seed(settings.users, CHANNELS)
    # Repeated unauthenticated denials become one counted row per window (docs/resource.md).
    audit = AggregatingAuditSink(ChatAuditSink(store))
    key = store.signing_key()
    scopes = frozenset(settings.api_scopes)
    methods = wiring.auth_methods(settings)
    clients = Clients(wiring.registered_clients(settings))
    code_grants = {spec.GRANT_AUTHORIZATION_CODE, spec.GRANT_REFRESH_TOKEN}
    grant_types = code_grants if settings.legacy else {*code_grants, spec.GRANT_JWT_BEARER}
    if settings.dpop and not settings.legacy:
        grant_types.add(spec.GRANT_JWT_DPOP)
    grants = wiring.grant_policy(settings, grant_types)
    trust = wiring.trust_registry(settings)
    replay = replay_store(settings)
    dpop = _dpop_verifier(settings, replay, store)
    endpoint = endpoint_type(
        issuer=settings.issuer,
        token_endpoint=settings.issuer.rstrip("/") + "/token",
        signing_key=key,
        clients=clients,
        grants=grants,
        trust=trust,
        replay=replay,
        subjects=wiring.account_resolver(settings, store),
        resources=wiring.served_resources(settings),
        default_resource=settings.resource,
        dpop=dpop,
        audit=audit,
        access_token_lifetime=settings.access_token_lifetime,
        actors=ConfigResourceActorPolicy(
            dict(settings.actor_requirements), default=settings.actor_default
        ),
    )
    flow = CodeFlow(
        store,
        issuer=settings.issuer,
        resource=settings.resource,
        key=key,
        clients=clients,
        client_ids=wiring.code_flow_clients(settings),
        scopes=scopes,
        access_token_lifetime=settings.access_token_lifetime,
        refresh_token_lifetime=settings.refresh_token_lifetime,
        audit=audit,
        replay=replay,
    )
    metadata = authorization_server_metadata(
        settings.issuer,
        grant_types=sorted(grant_types),
        grant_profiles=() if settings.legacy else (spec.GRANT_PROFILE_ID_JAG,),
        auth_methods=methods,
        scopes=scopes,
        revocation=True,
        dpop_algs=dpop.algs if dpop else (),
        # Both modes serve the code flow's /authorize (the MCP SDK requires the member).
        authorization_endpoint=settings.issuer.rstrip("/") + "/authorize",
    )
    metadata_url = protected_resource_metadata_url(settings.resource)
    rs = ResourceServer(
        settings.resource,
        settings.issuer,
        JwkSet([key.verification_key()]),
        metadata_url,
        dpop=dpop,
        require_dpop=settings.dpop_required,
    )
    fetcher = JwksFetcher()
    calls = BlockingCalls()  # store calls (replay in Redis or SQLite) off the event loop

    async def token(request: Request) -> Response:
        try:
            headers = lower_headers(request)
            form = parse_form(await read_form_body(request))
        except OAuthError as exc:
            return error_response(exc, where="token")
        now = time.time()
        grant = form.get(spec.P_GRANT_TYPE)
        try:
            if grant in (spec.GRANT_JWT_BEARER, spec.GRANT_JWT_DPOP):
                if settings.legacy:
                    raise UnsupportedGrantType(detail="legacy mode")
                stale = endpoint.pending_refresh(form.get(spec.P_ASSERTION), now)
                if stale is not None:
                    await fetcher.refresh(trust, stale, now)
                return to_starlette(await handle_token_form(endpoint, calls, headers, form, now))
            if grant is None:
                raise InvalidRequest(detail="grant_type missing")
            return to_starlette(await calls.run(lambda: flow.token(headers, form, now)))
        except OAuthError as exc:
            return error_response(exc, where="token")

    async def revoke(request: Request) -> Response:
        try:
            headers = lower_headers(request)
            form = parse_form(await read_form_body(request))
        except OAuthError as exc:
            return error_response(exc, where="revoke")
        return to_starlette(flow.revoke(headers, form, time.time()))

    async def authorize(request: Request) -> Response:
        return flow.authorize(dict(request.query_params))

    async def login(request: Request) -> Response:
        address = request.client.host if request.client else None
        return flow.login(await _html_form(request), address)

    async def consent(request: Request) -> Response:
        return flow.consent(await _html_form(request))

    def guard(*needed: str, any_of: bool = False) -> Callable[[Any], Any]:
        def decorate(handler: Any) -> Any:
            async def unrevoked(request: Request) -> Response:
                if store.access_revoked(request.state.access_token.jti):
                    return _revoked(rs, request)
                response: Response = await handler(request)
                return response

            checked = requires(rs, *needed, any_of=any_of, calls=calls)(unrevoked)

            async def audited(request: Request) -> Response:
                response: Response = await checked(request)
                audit.emit(_api_event(request, response, settings.issuer, settings.resource))
                return response

            return audited

        return decorate

    @guard("chat.read", "chat.history", any_of=True)
    async def api_index(request: Request) -> Response:
        return JSONResponse(
            {"resource": settings.resource, "channels": "/api/channels", "you": _who(request)}
        )

    @guard("chat.read", "chat.history", any_of=True)
    async def list_channels(request: Request) -> Response:
        return JSONResponse({"channels": store.channels()})

    @guard("chat.read", "chat.history", any_of=True)
    async def list_messages(request: Request) -> Response:
        channel = request.path_params["channel"]
        if not store.channel_exists(channel):
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse({"channel": channel, "messages": store.messages(channel)})

    @guard("chat.write")
    async def post_message(request: Request) -> Response:
        channel = request.path_params["channel"]
        if not store.channel_exists(channel):
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            # One capped read (413 past it) and the bounded parser: no deep nesting,
            # no lone surrogate that SQLite could not store (docs/resource.md, "HTTP edge").
            payload = parse_json(await read_body(request))
            text = payload["text"]
            if not isinstance(text, str) or not 0 < len(text) <= MAX_MESSAGE_CHARS:
                raise ValueError("text")
        except OAuthError as exc:
            return error_response(exc, where="resource")
        except (ValueError, KeyError, TypeError):
            return error_response(InvalidRequest(detail="message body malformed"), where="resource")
        claims = request.state.access_token.to_json()
        message = store.post(
            channel,
            text,
            account_id=claims["sub"],
            client_id=claims["client_id"],
            idp_iss=claims.get("idp_iss"),
            act=claims.get("act"),
        )
        return JSONResponse(message, status_code=201)

    routes = [
        *metadata_routes(metadata, {"keys": [key.public_jwk()]}),
        protected_resource_route(_resource_metadata(settings, scopes, dpop)),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/authorize", authorize, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/consent", consent, methods=["POST"]),
        Route("/api", api_index, methods=["GET"]),
        Route("/api/channels", list_channels, methods=["GET"]),
        Route("/api/channels/{channel}/messages", list_messages, methods=["GET"]),
        Route("/api/channels/{channel}/messages", post_message, methods=["POST"]),
        *activity_routes(store, flow.throttle, settings.issuer),  # docs/console.md
    ]
    chat_mcp = mount_mcp(settings, store, key, dpop, calls, audit)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if chat_mcp.lifespan is not None:
                await stack.enter_async_context(chat_mcp.lifespan(app))
            try:
                yield
            finally:
                try:  # the last window of aggregated denials (docs/resource.md), off the loop
                    await anyio.to_thread.run_sync(audit.flush)
                finally:
                    close = getattr(replay, "aclose", None)
                    if close is not None:
                        await close()  # the async Redis connections of this event loop

    app = Starlette(
        routes=[*routes, *chat_mcp.routes],
        middleware=[Middleware(HttpEdge), Middleware(AuditAddressMiddleware)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.endpoint = endpoint
    app.state.flow = flow
    return app


def _who(request: Request) -> dict[str, Any]:
    token = request.state.access_token
    claims = token.to_json()
    who = {k: claims.get(k) for k in ("sub", "client_id", "idp_iss", "idp_sub", "act", "scope")}
    chain = token.act.chain() if token.act else []
    return {**who, "actors": chain, "on_behalf": describe_delegation(token.sub, token.act)}


def _api_event(request: Request, response: Response, issuer: str, resource: str) -> AuditEvent:
    """One audit event per API request, with the token's ``act`` chain (docs/actors.md)."""
    token: AccessTokenClaims | None = getattr(request.state, "access_token", None)
    ok = response.status_code < 400
    return AuditEvent(
        event="resource.request",
        decision="issued" if ok else "denied",
        reason="" if ok else str(response.status_code),
        issuer=issuer,
        subject=token.sub if token else None,
        client_id=token.client_id if token else None,
        audience=resource,
        actors=token.act.chain() if token and token.act else [],
        granted_scope=token.scope if token else None,
        jti=token.jti if token else None,
        extra={
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            **{k: (token.model_extra or {}).get(k) for k in ("idp_iss", "idp_sub") if token},
        },
    )


def _revoked(rs: ResourceServer, request: Request) -> Response:
    exc = InvalidToken(detail="revoked")
    scheme = request.headers.get("authorization", "").partition(" ")[0]
    exc.headers["www-authenticate"] = rs.challenge(exc, scheme=scheme)
    return error_response(exc, where="resource")


async def _html_form(request: Request) -> dict[str, str]:
    try:
        form = parse_form(await read_form_body(request))
    except OAuthError:
        return {}
    return dict(form)
