"""The demo's last part: an MCP client calls the chat app's MCP server at /mcp with a token
from an ID-JAG (docs/mcp.md "The chat app at /mcp")."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET
from xaa.adapters.httpx2_client import AsyncXAAClient, XAAAuth
from xaa.adapters.httpx_login import login_with_password
from xaa.client import ClientConfig, ClientCredentials, IdpConfig

from .show import step

SCOPE = "chat.read chat.write"


async def _round_trip(config: ClientConfig, session: Any, mcp_url: str) -> dict[str, Any]:
    xaa = AsyncXAAClient(config, session=session)
    auth = XAAAuth(xaa, resource=mcp_url, scope=SCOPE)
    try:
        async with (
            httpx2.AsyncClient(auth=auth, timeout=30) as http,
            Client(streamable_http_client(mcp_url, http_client=http)) as mcp,
        ):
            tools = await mcp.list_tools()
            channels = await mcp.call_tool("list_channels", {})
            posted = await mcp.call_tool(
                "post_message", {"channel": "general", "text": "Hello from an MCP client, via XAA"}
            )
    finally:
        await xaa.aclose()
    return {
        "tools": sorted(t.name for t in tools.tools),
        "channels": channels.structured_content,
        "posted": posted.structured_content,
        "errors": [r.is_error for r in (channels, posted)],
    }


def run_mcp_demo(idp: str, chat: str) -> dict[str, Any]:
    """alice signs in; the wiki's MCP client initializes, lists the tools and posts."""
    wiki = ClientCredentials.secret_basic(WIKI, WIKI_SECRET)
    config = ClientConfig(
        IdpConfig(idp, wiki),
        {chat: ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")},
    )
    with httpx.Client() as http:
        session = login_with_password(http, idp, wiki, "alice", "alice", WIKI_REDIRECT)
        mcp_url = chat + "/mcp"
        refused = http.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"})
    step(
        f"1. POST /mcp without a token -> {refused.status_code}; the challenge names the"
        " resource metadata, which names the chat AS (RFC 9728)",
        refused.headers.get("www-authenticate", ""),
    )
    got = anyio.run(_round_trip, config, session, mcp_url)
    step("2. ID-JAG for /mcp, redeemed at the chat AS; initialize + tools/list", got["tools"])
    step("3. tools/call list_channels", got["channels"])
    step("4. tools/call post_message (stored with who did it)", got["posted"])
    if any(got["errors"]):
        raise RuntimeError("an MCP tool call failed")
    return got
