"""The MCP SDK token endpoint answers with what draft-03 §4.4.1 requires.

``IdJagExchange`` behind the SDK's ``exchange_identity_assertion`` hook must
return the granted ``resource`` and ``authorization_details`` next to the
token, type, lifetime and scope, as xaa's own Starlette endpoint does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mcp.server.auth.provider import IdentityAssertionParams
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.applications import Starlette

from tests.support.servers import free_port, serve
from xaa import IdJagClaims, MemoryAuditSink, RegisteredClient, SigningKey, issue_id_jag, spec
from xaa.adapters.mcp_server import IdJagExchange
from xaa.resource import (
    AccountResolver,
    ClientGrant,
    JwtBearerEndpoint,
    MemoryAccountStore,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
)
from xaa.stores import MemoryReplayStore

IDP = "https://idp.example"
IDP_KEY = SigningKey.generate("ES256", kid="idp-1")
CLIENT, SECRET = "mcp-client", "mcp-secret"
DETAIL = {"type": "tool_invocation", "tool": "add"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _NoClients:
    def get_client(self, client_id: str) -> RegisteredClient | None:
        del client_id
        return None


@dataclass
class McpAs:
    issuer: str
    resource: str
    exchange: IdJagExchange

    def id_jag(self, **claims: Any) -> str:
        jag = IdJagClaims.new(
            issuer=IDP,
            subject="alice",
            audience=self.issuer,
            client_id=CLIENT,
            scope="tools.call",
            resource=self.resource,
            email="alice@acme.example",
            authorization_details=[DETAIL],
            **claims,
        )
        return issue_id_jag(jag, IDP_KEY)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id != CLIENT:
            return None
        return OAuthClientInformationFull(
            client_id=CLIENT,
            client_secret=SECRET,
            token_endpoint_auth_method="client_secret_post",
            grant_types=[spec.GRANT_JWT_BEARER],
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        return await self.exchange(client, params)


def make_as(issuer: str) -> McpAs:
    resource = issuer.rstrip("/") + "/mcp"
    endpoint = JwtBearerEndpoint(
        issuer=issuer,
        token_endpoint=issuer.rstrip("/") + "/token",
        signing_key=SigningKey.generate("ES256", kid="mcp-as"),
        clients=_NoClients(),
        grants=StaticGrantPolicy(
            [ClientGrant(CLIENT, detail_types=frozenset({"tool_invocation"}))]
        ),
        trust=TrustRegistry([TrustedIssuer(IDP, jwks={"keys": [IDP_KEY.public_jwk()]})]),
        replay=MemoryReplayStore(),
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(resource, frozenset({"tools.call"}))],
        audit=MemoryAuditSink(),
    )
    return McpAs(issuer, resource, IdJagExchange(endpoint))


def client_info() -> OAuthClientInformationFull:
    return OAuthClientInformationFull(client_id=CLIENT, client_secret=SECRET)


@pytest.mark.anyio
async def test_mcp_exchange_returns_the_granted_resource_and_authorization_details() -> None:
    mcp_as = make_as("https://mcp.example")
    params = IdentityAssertionParams(assertion=mcp_as.id_jag(), resource=mcp_as.resource)
    token = await mcp_as.exchange(client_info(), params)
    body = token.model_dump(exclude_none=True)
    assert body["resource"] == mcp_as.resource
    assert body["authorization_details"] == [DETAIL]
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "tools.call", 900)
    assert "refresh_token" not in body


@pytest.mark.anyio
async def test_mcp_exchange_omits_authorization_details_none_were_granted() -> None:
    mcp_as = make_as("https://mcp.example")
    jag = issue_id_jag(
        IdJagClaims.new(
            issuer=IDP,
            subject="alice",
            audience=mcp_as.issuer,
            client_id=CLIENT,
            scope="tools.call",
            email="alice@acme.example",
        ),
        IDP_KEY,
    )
    token = await mcp_as.exchange(client_info(), IdentityAssertionParams(assertion=jag))
    body = token.model_dump(exclude_none=True)
    assert body["resource"] == mcp_as.resource and "authorization_details" not in body


@pytest.fixture(scope="module")
def sdk_as() -> Iterator[McpAs]:
    port = free_port()
    settings = AuthSettings(
        issuer_url=f"http://127.0.0.1:{port}",
        resource_server_url=None,
        identity_assertion_enabled=True,
    )
    mcp_as = make_as(str(settings.issuer_url))
    routes = create_auth_routes(mcp_as, settings.issuer_url, identity_assertion_enabled=True)  # type: ignore[arg-type]
    with serve(Starlette(routes=routes), port):
        yield mcp_as


@pytest.mark.e2e
def test_mcp_sdk_token_endpoint_returns_the_granted_resource(sdk_as: McpAs) -> None:
    response = httpx.post(
        sdk_as.issuer.rstrip("/") + "/token",
        data={
            "grant_type": spec.GRANT_JWT_BEARER,
            "assertion": sdk_as.id_jag(),
            "resource": sdk_as.resource,
            "client_id": CLIENT,
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["resource"] == sdk_as.resource
    assert body["authorization_details"] == [DETAIL]
    assert body["scope"] == "tools.call" and body["token_type"] == "Bearer"
    assert "refresh_token" not in body
