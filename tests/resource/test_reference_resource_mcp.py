"""The chat app's MCP server at /mcp behind XAA (reference_resource/mcp.py, docs/mcp.md).

Both MCP client stacks get their token through XAA with an ID-JAG from the reference
IdP: the MCP SDK's ``IdentityAssertionOAuthProvider`` (the ID-JAG from xaa's
``assertion_provider``) and xaa's own ``XAAAuth`` (RFC 9728 discovery from /mcp).
Each runs initialize, list tools and a tool call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from demo.stack import ReferenceServers
from reference_resource import Settings, create_app
from tests.resource.loopback_idp import loopback_idp
from tests.resource.resource_kit import RESOURCE, SCOPES, assert_rejected, make_kit
from tests.support.forge import DROP
from tests.support.servers import free_port, serve
from xaa import AccessTokenClaims, issue_access_token, spec
from xaa.adapters.httpx2_client import AsyncXAAClient, XAAAuth
from xaa.adapters.mcp_client import assertion_provider
from xaa.resource import ServedResource

pytestmark = pytest.mark.e2e
SCOPE = "chat.read chat.write"
TOOLS = {"list_channels", "read_messages", "post_message"}


@pytest.fixture(scope="module")
def servers() -> Iterator[ReferenceServers]:
    with ReferenceServers() as running:
        yield running


class MemoryTokens:
    """The SDK's ``TokenStorage``, in memory."""

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


def auth_for(servers: ReferenceServers, xaa: AsyncXAAClient, sdk: bool, scope: str) -> httpx2.Auth:
    mcp = servers.chat + "/mcp"
    if not sdk:
        return XAAAuth(xaa, resource=mcp, scope=scope)
    return IdentityAssertionOAuthProvider(
        server_url=mcp,
        storage=MemoryTokens(),
        client_id="wiki-at-chat",
        client_secret="wiki-chat-secret",
        issuer=servers.chat,
        assertion_provider=assertion_provider(xaa, scope=scope),
        scope=scope,
        token_endpoint_auth_method="client_secret_basic",
    )


def session_run(
    servers: ReferenceServers, *, user: str = "alice", sdk: bool, scope: str = SCOPE
) -> dict[str, Any]:
    """Sign ``user`` in, then initialize, list tools, read and post over MCP."""
    session = servers.sign_in(user, user)

    async def go() -> dict[str, Any]:
        xaa = AsyncXAAClient(servers.wiki_config(), session=session)
        try:
            async with (
                httpx2.AsyncClient(auth=auth_for(servers, xaa, sdk, scope), timeout=30) as http,
                Client(streamable_http_client(servers.chat + "/mcp", http_client=http)) as mcp,
            ):
                tools = await mcp.list_tools()
                channels = await mcp.call_tool("list_channels", {})
                posted = await mcp.call_tool(
                    "post_message", {"channel": "general", "text": f"{user} over MCP ({sdk})"}
                )
        finally:
            await xaa.aclose()
        return {"tools": tools, "channels": channels, "posted": posted}

    return anyio.run(go)


@pytest.mark.parametrize("sdk", [True, False], ids=["sdk-provider", "xaa-auth"])
def test_mcp_client_initializes_lists_and_calls_tools_with_an_id_jag(
    servers: ReferenceServers, sdk: bool
) -> None:
    got = session_run(servers, sdk=sdk)
    assert {t.name for t in got["tools"].tools} == TOOLS
    assert not got["channels"].is_error and not got["posted"].is_error
    channels = {c["id"] for c in got["channels"].structured_content["channels"]}
    assert {"general", "random"} <= channels
    posted = got["posted"].structured_content
    # Stored like the chat API's posts: account, client, IdP and attribution.
    assert posted["client_id"] == "wiki-at-chat" and posted["idp"] == servers.idp
    assert posted["attribution"] == "alice" and posted["actors"] == []


def test_a_tool_without_its_scope_is_a_tool_error_without_traceback(
    servers: ReferenceServers, caplog: pytest.LogCaptureFixture
) -> None:
    got = session_run(servers, user="bob", sdk=False)  # bob: chat.read only (demo policy)
    assert not got["channels"].is_error
    assert got["posted"].is_error
    assert "insufficient_scope: chat.write is needed" in got["posted"].content[0].text
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a refusal"


def test_mcp_challenge_leads_to_the_authorization_server(servers: ReferenceServers) -> None:
    mcp = servers.chat + "/mcp"
    with httpx.Client() as http:
        refused = http.post(mcp, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"})
        metadata_url = servers.chat + "/.well-known/oauth-protected-resource/mcp"
        metadata = http.get(metadata_url).json()
        as_metadata = http.get(servers.chat + "/.well-known/oauth-authorization-server").json()
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    assert metadata["resource"] == mcp and metadata["authorization_servers"] == [servers.chat]
    assert set(metadata["scopes_supported"]) >= {"chat.read", "chat.write"}
    assert as_metadata["issuer"] == servers.chat


def test_repeated_authorization_at_mcp_is_invalid_request_not_a_500(
    servers: ReferenceServers,
) -> None:
    headers = [("authorization", "Bearer a"), ("authorization", "Bearer b")]
    with httpx.Client() as http:
        refused = http.post(
            servers.chat + "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
            headers=httpx.Headers(headers),
        )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert refused.headers["cache-control"] == "no-store"
    assert 'error="invalid_request"' in refused.headers["www-authenticate"]


def test_a_token_for_the_chat_api_is_refused_at_mcp(servers: ReferenceServers) -> None:
    session = servers.sign_in()

    async def token() -> str:
        xaa = AsyncXAAClient(servers.wiki_config(), session=session)
        try:
            got = await xaa.get_token(servers.chat + "/api", scope="chat.read")
        finally:
            await xaa.aclose()
        return got.token

    access = anyio.run(token)
    with httpx.Client() as http:
        refused = http.post(
            servers.chat + "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
            headers={"authorization": f"Bearer {access}"},
        )
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_a_post_through_mcp_is_attributed_to_the_user_via_the_agent(tmp_path: Path) -> None:
    agent = "spiffe://acme.example/agent/triage"
    with loopback_idp() as idp:
        port = free_port()
        settings = Settings.make(
            port=port,
            db=str(tmp_path / "chat.db"),
            replay="memory",
            trust_idps=[idp.issuer],
            idp_email_domains=[(idp.issuer, "acme.example")],
        )
        with serve(create_app(settings), port):
            jag = idp.id_jag(
                settings.issuer,
                "agent-at-chat",
                resource=settings.mcp_resource,
                act={"sub": agent},
            )
            tokens = httpx.post(
                settings.issuer + "/token",
                data={
                    "grant_type": spec.GRANT_JWT_BEARER,
                    "assertion": jag,
                    "client_id": "agent-at-chat",  # client_secret_post in the demo
                    "client_secret": "agent-chat-secret",
                },
            )
            assert tokens.status_code == 200, tokens.text
            bearer = {"authorization": f"Bearer {tokens.json()['access_token']}"}

            async def post() -> Any:
                async with (
                    httpx2.AsyncClient(headers=bearer, timeout=30) as http,
                    Client(streamable_http_client(settings.mcp_resource, http_client=http)) as mcp,
                ):
                    return await mcp.call_tool("post_message", {"channel": "general", "text": "hi"})

            posted = anyio.run(post)
            with httpx.Client(headers=bearer) as api:
                listed = api.get(settings.resource + "/channels/general/messages")
    assert not posted.is_error, posted.content
    assert posted.structured_content["attribution"] == f"alice via {agent}"
    assert posted.structured_content["client_id"] == "agent-at-chat"
    assert listed.status_code == 401  # an /mcp token is not a chat API token


def test_an_id_jag_without_resource_gets_the_default_resource_or_invalid_target() -> None:
    kit = make_kit()
    two = [ServedResource(RESOURCE, SCOPES), ServedResource(RESOURCE + "/mcp", SCOPES)]
    kit.endpoint = replace(kit.endpoint, resources=two)
    refused = kit.post(kit.jag(resource=DROP))
    kit.endpoint = replace(kit.endpoint, default_resource=RESOURCE)
    granted = kit.post(kit.jag(resource=DROP, jti="another"))
    assert_rejected(refused, 400, "invalid_target")
    assert granted.status == 200
    with pytest.raises(ValueError, match="default resource"):
        replace(kit.endpoint, default_resource="https://elsewhere.example/api")


def test_the_demo_ends_with_an_mcp_round_trip(
    servers: ReferenceServers, capsys: pytest.CaptureFixture[str]
) -> None:
    from demo.mcp import run_mcp_demo

    got = run_mcp_demo(servers.idp, servers.chat)
    out = capsys.readouterr().out
    assert "POST /mcp without a token -> 401" in out and 'resource_metadata="' in out
    assert got["tools"] == sorted(TOOLS) and got["posted"]["attribution"] == "alice"


def test_a_token_without_any_mcp_scope_is_403_insufficient_scope(tmp_path: Path) -> None:
    """A token for /mcp holding none of its scopes (chat.read, chat.write) is refused before
    any tool runs: 403 ``insufficient_scope`` with the scopes in the challenge (RFC 6750 §3.1)."""
    port = free_port()
    settings = Settings.make(port=port, db=str(tmp_path / "chat.db"), replay="memory")
    settings = replace(settings, mcp_scopes=("chat.read", "chat.write"))
    app = create_app(settings)
    now = int(time.time())
    claims = AccessTokenClaims.model_validate(
        {
            "iss": settings.issuer,
            "sub": "u-alice",
            "aud": settings.mcp_resource,
            "client_id": "wiki-at-chat",
            "jti": "mcp-history-only",
            "iat": now,
            "exp": now + 300,
            "scope": "chat.history",
        }
    )
    token = issue_access_token(claims, app.state.store.signing_key())
    with serve(app, port):
        refused = httpx.post(
            settings.mcp_resource,
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert refused.status_code == 403 and refused.headers["cache-control"] == "no-store"
    assert refused.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
