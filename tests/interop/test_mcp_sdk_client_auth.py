"""XAAClient (client_secret_basic) against the MCP Python SDK's token endpoint.

The SDK's ``ClientAuthenticator`` looks the client up by the form's
``client_id`` even under Basic; xaa sends it there too (RFC 6749 §3.2.1), so
both legs run: the ID-JAG from the reference IdP, redeemed at an SDK
authorization server whose ``exchange_identity_assertion`` is IdJagExchange.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp.server.auth.provider import IdentityAssertionParams
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.applications import Starlette

from reference_idp.app import create_app as create_idp
from reference_idp.config import demo_config_text, load_config
from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET
from reference_idp.store import Store
from tests.support.servers import free_port, serve
from xaa import MemoryAuditSink, RegisteredClient, SigningKey, spec
from xaa.adapters.httpx_client import XAAClient
from xaa.adapters.httpx_login import login_with_password
from xaa.adapters.mcp_server import IdJagExchange
from xaa.adapters.starlette import JwksFetcher
from xaa.client import (
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
    TokenRequestRefused,
)
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

pytestmark = pytest.mark.e2e

AS_CLIENT, AS_SECRET = "wiki-at-chat", "wiki-chat-secret"  # the demo policy's client_id there


class _NoClients:
    def get_client(self, client_id: str) -> RegisteredClient | None:
        del client_id
        return None


class SdkProvider:
    """The SDK provider methods the token endpoint uses: one Basic client, xaa's exchange."""

    def __init__(self, exchange: IdJagExchange) -> None:
        self.exchange = exchange

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if client_id != AS_CLIENT:
            return None
        return OAuthClientInformationFull(
            client_id=AS_CLIENT,
            client_secret=AS_SECRET,
            token_endpoint_auth_method="client_secret_basic",
            grant_types=[spec.GRANT_JWT_BEARER],
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        return await self.exchange(client, params)


@dataclass
class Stack:
    idp: str
    mcp_as: str
    resource: str
    session: IdentitySession


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("mcp-sdk-client-auth")
    idp_port, as_port = free_port(), free_port()
    idp, mcp_as = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{as_port}"
    text = demo_config_text().replace("http://127.0.0.1:9500", mcp_as)
    (tmp / "idp.toml").write_text(text.replace("http://127.0.0.1:9400", idp))
    store = Store(tmp / "idp.sqlite3")
    resource = mcp_as + "/api"
    settings = AuthSettings(
        issuer_url=mcp_as,
        resource_server_url=None,
        identity_assertion_enabled=True,
    )
    endpoint = JwtBearerEndpoint(
        issuer=mcp_as,
        token_endpoint=mcp_as + "/token",
        signing_key=SigningKey.generate("ES256", kid="mcp-as"),
        clients=_NoClients(),
        grants=StaticGrantPolicy([ClientGrant(AS_CLIENT)]),
        trust=TrustRegistry([TrustedIssuer(idp)]),
        replay=MemoryReplayStore(),
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(resource, frozenset({"chat.read"}))],
        audit=MemoryAuditSink(),
    )
    provider = SdkProvider(IdJagExchange(endpoint, JwksFetcher()))
    routes = create_auth_routes(provider, settings.issuer_url, identity_assertion_enabled=True)  # type: ignore[arg-type]
    try:
        with (
            serve(create_idp(load_config(tmp / "idp.toml"), store), idp_port),
            serve(Starlette(routes=routes), as_port),
            httpx.Client(timeout=10) as http,
        ):
            wiki = ClientCredentials.secret_basic(WIKI, WIKI_SECRET)
            session = login_with_password(http, idp, wiki, "alice", "alice", WIKI_REDIRECT)
            yield Stack(idp, mcp_as, resource, session)
    finally:
        store.close()


def client(stack: Stack, credentials: ClientCredentials) -> XAAClient:
    config = ClientConfig(
        IdpConfig(stack.idp, ClientCredentials.secret_basic(WIKI, WIKI_SECRET)),
        {stack.mcp_as: credentials},
    )
    session = IdentitySession(
        id_token=stack.session.id_token, refresh_token=stack.session.refresh_token
    )
    return XAAClient(config, session=session)


def test_xaa_client_basic_auth_succeeds_at_the_mcp_sdk_token_endpoint(stack: Stack) -> None:
    xaa = client(stack, ClientCredentials.secret_basic(AS_CLIENT, AS_SECRET))
    try:
        token = xaa.get_token(stack.resource, "chat.read", authorization_server=stack.mcp_as)
    finally:
        xaa.close()
    assert token.issuer == stack.mcp_as and token.scopes == frozenset({"chat.read"})
    assert token.token_type == "Bearer" and token.token.count(".") == 2


def test_mcp_sdk_token_endpoint_refuses_basic_without_body_client_id(stack: Stack) -> None:
    """What happened before: the SDK answers 401 invalid_client, no-store."""
    bare = ClientCredentials.secret_basic(AS_CLIENT, AS_SECRET, include_client_id_in_body=False)
    xaa = client(stack, bare)
    try:
        with pytest.raises(TokenRequestRefused) as refused:
            xaa.get_token(stack.resource, "chat.read", authorization_server=stack.mcp_as)
    finally:
        xaa.close()
    assert refused.value.status == 401
    assert refused.value.error == "invalid_client"
