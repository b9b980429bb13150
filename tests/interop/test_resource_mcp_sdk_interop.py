"""Interop: the MCP Python SDK (mcp>=2.3) and authlib against xaa's resource side.

The ID-JAG comes from a loopback test IdP (tests/resource/loopback_idp.py:
RFC 8414 metadata + JWKS served over HTTP, tokens minted with
xaa.issue_id_jag), not from reference_idp.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.server.auth.routes import create_auth_routes
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reference_resource import Settings, create_app
from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.servers import free_port, serve
from xaa import JwkSet, MemoryAuditSink, RegisteredClient, SigningKey, spec
from xaa.adapters.mcp_server import AccessTokenVerifier, IdJagExchange
from xaa.adapters.starlette import JwksFetcher
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
)
from xaa.stores import MemoryReplayStore

pytestmark = pytest.mark.e2e


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class MemoryTokens:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        del client_info


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


@pytest.fixture(scope="module")
def chat(idp: LoopbackIdp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = str(tmp_path_factory.mktemp("interop") / "chat.db")
    settings = Settings.make(
        port=port, db=db, trust_idps=[idp.issuer], idp_email_domains=[(idp.issuer, "acme.example")]
    )
    with serve(create_app(settings), port) as b:
        yield b


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("client_id", "secret", "method"),
    [
        ("agent-at-chat", "agent-chat-secret", "client_secret_post"),
        ("wiki-at-chat", "wiki-chat-secret", "client_secret_basic"),
    ],
)
async def test_mcp_identity_assertion_provider_against_reference_app(
    chat: str, idp: LoopbackIdp, client_id: str, secret: str, method: Any
) -> None:
    seen: list[tuple[str, str]] = []

    async def assertion(audience: str, resource: str) -> str:
        seen.append((audience, resource))
        return idp.id_jag(audience, client_id, resource=resource, scope="chat.read chat.write")

    storage = MemoryTokens()
    provider = IdentityAssertionOAuthProvider(
        server_url=chat + "/api",
        storage=storage,
        client_id=client_id,
        client_secret=secret,
        issuer=chat,
        assertion_provider=assertion,
        token_endpoint_auth_method=method,
    )
    async with httpx2.AsyncClient(auth=provider) as client:
        index = await client.get(chat + "/api")
        assert index.status_code == 200, index.text
        assert index.json()["you"]["client_id"] == client_id
        posted = await client.post(
            chat + "/api/channels/general/messages", json={"text": "from the MCP SDK"}
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["attribution"] == "alice"
    assert seen == [(chat, chat + "/api")]
    assert storage.tokens is not None and storage.tokens.refresh_token is None


@pytest.mark.anyio
async def test_mcp_server_auth_routes_with_xaa_exchange(idp: LoopbackIdp) -> None:
    """An MCP SDK authorization server whose exchange_identity_assertion is IdJagExchange."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"  # the SDK's AnyHttpUrl issuer has the slash
    resource = issuer + "mcp"
    key = SigningKey.generate("ES256", kid="mcp-as")
    audit = MemoryAuditSink()
    endpoint = JwtBearerEndpoint(
        issuer=issuer,
        token_endpoint=issuer + "token",
        signing_key=key,
        clients=_NoClients(),
        grants=StaticGrantPolicy([ClientGrant("mcp-client")]),
        trust=TrustRegistry([TrustedIssuer(idp.issuer)]),
        replay=MemoryReplayStore(),
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(resource, frozenset({"tools.call"}))],
        audit=audit,
    )
    fetcher = JwksFetcher()
    exchange = IdJagExchange(endpoint, fetcher)
    verifier = AccessTokenVerifier(
        ResourceServer(resource, issuer, JwkSet([key.verification_key()]), issuer + "prm")
    )

    class Provider:
        async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
            if client_id != "mcp-client":
                return None
            return OAuthClientInformationFull(
                client_id="mcp-client",
                client_secret="mcp-secret",
                token_endpoint_auth_method="client_secret_post",
                grant_types=[spec.GRANT_JWT_BEARER],
            )

        async def exchange_identity_assertion(self, client: Any, params: Any) -> OAuthToken:
            return await exchange(client, params)

    async def mcp(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        access = await verifier.verify_token(token) if header else None
        if access is None:
            return JSONResponse({}, status_code=401)
        return JSONResponse({"subject": access.subject, "claims": access.claims})

    routes = create_auth_routes(Provider(), AnyHttpUrl(issuer), identity_assertion_enabled=True)  # type: ignore[arg-type]
    app = Starlette(routes=[*routes, Route("/mcp", mcp)])
    with serve(app, port):
        provider = IdentityAssertionOAuthProvider(
            server_url=resource,
            storage=MemoryTokens(),
            client_id="mcp-client",
            client_secret="mcp-secret",
            issuer=issuer,
            assertion_provider=lambda aud, res: _async(
                idp.id_jag(
                    aud, "mcp-client", resource=res, scope="tools.call", act={"sub": "agent-9"}
                )
            ),
        )
        async with httpx2.AsyncClient(auth=provider) as client:
            answer = await client.get(resource)
        assert answer.status_code == 200, answer.text
        claims = answer.json()["claims"]
        assert claims["idp_iss"] == idp.issuer
        assert claims["act"] == {"sub": "agent-9"}
        # A refused ID-JAG reaches the SDK as a TokenError with the RFC code.
        with pytest.raises(Exception, match="invalid_grant"):
            async with httpx2.AsyncClient(
                auth=IdentityAssertionOAuthProvider(
                    server_url=resource,
                    storage=MemoryTokens(),
                    client_id="mcp-client",
                    client_secret="mcp-secret",
                    issuer=issuer,
                    assertion_provider=lambda aud, res: _async(
                        idp.id_jag("https://other.example", "mcp-client", resource=res)
                    ),
                )
            ) as client:
                await client.get(resource)
    assert [e.decision for e in audit.events] == ["issued", "denied"]


class _NoClients:
    def get_client(self, client_id: str) -> RegisteredClient | None:
        del client_id
        return None


async def _async(value: str) -> str:
    return value


def test_authlib_client_redeems_an_xaa_id_jag(chat: str, idp: LoopbackIdp, tmp_path: Path) -> None:
    from authlib.integrations.httpx_client import OAuth2Client

    del tmp_path
    with OAuth2Client(
        "wiki-at-chat", "wiki-chat-secret", token_endpoint_auth_method="client_secret_basic"
    ) as client:
        token = client.fetch_token(
            chat + "/token",
            grant_type=spec.GRANT_JWT_BEARER,
            assertion=idp.id_jag(chat, "wiki-at-chat"),
        )
    assert token["token_type"] == "Bearer"
    channels = httpx.get(
        chat + "/api/channels", headers={"authorization": "Bearer " + token["access_token"]}
    )
    assert channels.status_code == 200
