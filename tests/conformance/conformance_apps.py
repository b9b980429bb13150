"""A resource AS assembled from the resource library, trusting an IdP by URL (discovery),
and deliberately broken variants of it, each disabling exactly one check.

Stands in for ``xaa resource serve --trust-idp URL`` where a test needs the app
in-process; served on loopback by tests/support/servers.py.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from xaa import IdJagClaims, InvalidGrant, MemoryAuditSink, RegisteredClient, SigningKey, spec
from xaa.adapters.starlette_resource import JwksFetcher, metadata_routes, token_route
from xaa.jose import parse_compact
from xaa.resource import (
    AccountResolver,
    ClientGrant,
    JwtBearerEndpoint,
    MemoryAccountStore,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
    authorization_server_metadata,
)
from xaa.stores import MemoryReplayStore

CLIENT, SECRET = "conformance-client", "conformance-client-secret"
POST_CLIENT = "conformance-post-client"
SCOPES = frozenset({"chat.read", "chat.history"})

# The client under test in the client suite: xaa's own `xaa token`.
PYTHON = shlex.quote(sys.executable)
XAA_TOKEN = (
    f'{PYTHON} -m xaa token --idp "$XAA_IDP_ISSUER" --idp-client-id "$XAA_IDP_CLIENT_ID"'
    ' --idp-client-secret "$XAA_IDP_CLIENT_SECRET" --subject-token-file "$XAA_ID_TOKEN_FILE"'
    ' --resource "$XAA_RESOURCE" --authorization-server "$XAA_AS_ISSUER"'
    ' --client-id "$XAA_AS_CLIENT_ID" --client-secret "$XAA_AS_CLIENT_SECRET"'
    ' --scope "$XAA_SCOPE"'
)


class DictClients:
    def __init__(self, *clients: RegisteredClient) -> None:
        self._clients = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)


class ForgetfulReplayStore(MemoryReplayStore):
    """Broken: every jti is new (the replay check is disabled)."""

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        return None


class UnboundEndpoint(JwtBearerEndpoint):
    """Broken: the ID-JAG's client_id is not compared with the authenticated client."""

    def verify(
        self, assertion: str, client_id: str, headers: Mapping[str, str], now: float
    ) -> IdJagClaims:
        claimed = parse_compact(assertion, error=InvalidGrant).payload.get("client_id")
        return super().verify(
            assertion, claimed if isinstance(claimed, str) else client_id, headers, now
        )


class RewriteTokenResponse:
    """Broken: every successful response of ``POST /token`` goes through ``change``."""

    def __init__(self, app: Any, change: Callable[[dict[str, Any]], None]) -> None:
        self.app = app
        self.change = change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/token":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
        if start["status"] == 200:
            data = json.loads(body)
            self.change(data)
            body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        await send(start)
        await send({"type": "http.response.body", "body": body})


def add_refresh_token(body: dict[str, Any]) -> None:
    body["refresh_token"] = "broken-variant-refresh-token"


def bearer_token_type(body: dict[str, Any]) -> None:
    body["token_type"] = "Bearer"


BROKEN_VARIANTS = {
    "replay": {"ras-rejects-replayed-id-jag"},
    "client-binding": {"ras-rejects-client-id-claim-of-another-client"},
    "refresh-token": {"ras-issues-no-refresh-token"},
}


def resource_as_app(issuer: str, trusted_idp: str, broken: str | None = None) -> Any:
    """A jwt-bearer token endpoint at ``issuer`` trusting ``trusted_idp`` (keys discovered);
    ``broken`` names one of :data:`BROKEN_VARIANTS`."""
    key = SigningKey.generate("ES256", kid="as-1")
    endpoint_class = UnboundEndpoint if broken == "client-binding" else JwtBearerEndpoint
    endpoint = endpoint_class(
        issuer=issuer,
        token_endpoint=issuer + "/token",
        signing_key=key,
        clients=DictClients(
            RegisteredClient.with_secret(CLIENT, SECRET),
            RegisteredClient.with_secret(POST_CLIENT, SECRET, spec.AUTH_CLIENT_SECRET_POST),
        ),
        grants=StaticGrantPolicy([ClientGrant(CLIENT), ClientGrant(POST_CLIENT)]),
        trust=TrustRegistry([TrustedIssuer(trusted_idp)]),
        replay=ForgetfulReplayStore() if broken == "replay" else MemoryReplayStore(),
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(issuer + "/api", SCOPES)],
        audit=MemoryAuditSink(),
    )
    metadata = authorization_server_metadata(issuer, scopes=SCOPES)
    routes = [
        token_route(endpoint, JwksFetcher()),
        *metadata_routes(metadata, {"keys": [key.public_jwk()]}),
    ]
    app = Starlette(routes=routes)
    return RewriteTokenResponse(app, add_refresh_token) if broken == "refresh-token" else app
