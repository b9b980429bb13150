"""The xaa assertion_provider inside the real MCP SDK IdentityAssertionOAuthProvider."""

from __future__ import annotations

import httpx2
import pytest
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from tests.client.client_support import AS, AS_CLIENT, Clock, World, config, session
from xaa import ProtocolViolation, spec
from xaa.adapters.httpx2_client import AsyncXAAClient
from xaa.adapters.mcp_client import assertion_provider

SERVER = "https://api.example/api/data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Storage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.info = client_info


async def run(world: World) -> httpx2.Response:
    world.rs_script = [(401, 'Bearer error="invalid_token"')]
    xaa_client = AsyncXAAClient(
        config(world.clock),
        session=session(world.clock),
        http=httpx2.AsyncClient(transport=world.transport()),
    )
    provider = IdentityAssertionOAuthProvider(
        server_url=SERVER,
        storage=Storage(),
        client_id=AS_CLIENT,
        client_secret="agent-chat-secret",
        issuer=AS,
        assertion_provider=assertion_provider(xaa_client, scope="chat.read"),
        scope="chat.read",
    )
    async with httpx2.AsyncClient(transport=world.transport(), auth=provider) as api:
        return await api.get(SERVER)


@pytest.mark.anyio
async def test_mcp_provider_gets_the_id_jag_from_xaa() -> None:
    world = World(Clock(), module=httpx2)
    response = await run(world)
    assert response.status_code == 200
    exchange, bearer = world.forms
    assert exchange["grant_type"] == spec.GRANT_TOKEN_EXCHANGE
    assert exchange["audience"] == AS and exchange["resource"] == SERVER
    assert bearer["assertion"].count(".") == 2
    assert world.seen_authorization == ["", "Bearer at-0"]


@pytest.mark.anyio
async def test_mcp_provider_never_gets_a_bad_id_jag() -> None:
    world = World(Clock(), module=httpx2)
    world.exchange_body = {"issued_token_type": spec.TOKEN_TYPE_ACCESS_TOKEN}
    with pytest.raises(ProtocolViolation):
        await run(world)
    assert world.count(AS + "/token") == 0
