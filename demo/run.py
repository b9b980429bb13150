"""The demo: the reference IdP and chat app on the embedded defaults, alice signs
in through the real login form, the wiki client gets a token through both legs
of XAA and uses the chat API, then the chat app's MCP server; every hop is printed."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET, start_idp
from reference_resource.demo import running_chat
from reference_resource.settings import Settings
from xaa.adapters.httpx_client import XAAAuth, XAAClient
from xaa.adapters.httpx_login import login_with_password
from xaa.client import ClientConfig, ClientCredentials, IdpConfig

from .actors import run_actor_demo
from .broker import run_broker_demo
from .broker_service import run_broker_service_demo
from .dpop import run_dpop_demo
from .mcp import run_mcp_demo
from .saml import run_saml_demo
from .show import abridged, decoded, step, title

IDP_PORT, CHAT_PORT = 9400, 9500
CHAT_API = f"http://127.0.0.1:{CHAT_PORT}/api"


@contextlib.contextmanager
def servers(workdir: Path) -> Iterator[tuple[str, str]]:
    """The reference IdP and chat app on their default ports."""
    with start_idp(port=IDP_PORT, db=str(workdir / "idp.db")) as idp:
        chat = Settings.make(port=CHAT_PORT, db=str(workdir / "chat.db"))
        with running_chat(chat) as chat_url:
            yield idp, chat_url


def xaa_flow(idp: str, chat: str) -> None:
    """SSO, token exchange, jwt-bearer, API calls: the draft's four steps (draft §4.1)."""
    title("Cross App Access: the wiki reads and posts in chat for alice")
    wiki = ClientCredentials.secret_basic(WIKI, WIKI_SECRET)
    config = ClientConfig(
        IdpConfig(idp, wiki),
        {chat: ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")},
    )
    with httpx.Client() as http:
        session = login_with_password(http, idp, wiki, "alice", "alice", WIKI_REDIRECT)
    assert session.id_token is not None
    step(
        "1. alice signs in at the IdP (OIDC code + PKCE, real login form); ID token:",
        decoded(session.id_token)["claims"],
    )

    client = XAAClient(config, session=session)
    try:
        id_jag = client.get_id_jag(chat, CHAT_API, "chat.read chat.history chat.write")
        step(
            "2. token exchange at the IdP (RFC 8693) -> ID-JAG " + abridged(id_jag.token),
            decoded(id_jag.token),
        )
        token = client.get_token(CHAT_API, "chat.read chat.history chat.write")
        step(
            f"3. jwt-bearer at the chat AS (RFC 7523) -> {token.token_type} access token "
            + abridged(token.token),
            decoded(token.token)["claims"],
        )
        auth = XAAAuth(client, resource=CHAT_API, scope="chat.read chat.history chat.write")
        with httpx.Client(auth=auth, base_url=chat) as api:
            channels = api.get("/api/channels")
            step(f"4. GET /api/channels -> {channels.status_code}", channels.json())
            posted = api.post(
                "/api/channels/general/messages", json={"text": "Hello from the wiki, via XAA"}
            )
            step(f"   POST /api/channels/general/messages -> {posted.status_code}", posted.json())
            messages = api.get("/api/channels/general/messages")
            step(
                f"   GET /api/channels/general/messages -> {messages.status_code}", messages.json()
            )
    finally:
        client.close()


def main() -> int:
    """Run every part of the demo."""
    with tempfile.TemporaryDirectory(prefix="xaa-demo-") as tmp, servers(Path(tmp)) as urls:
        xaa_flow(*urls)
        title("DPoP on every hop: the ID-JAG and the access token are bound to the client's key")
        run_dpop_demo(*urls)
        title("SAML: SAML sign-in -> refresh token -> ID-JAG -> access token (draft §4.5)")
        run_saml_demo(*urls)
        title("Delegation you can attribute: alice -> agent triage -> sub-agent summarizer")
        run_actor_demo(*urls)
    title("Credential broker: XAA where the app supports it, plain OAuth where it does not")
    run_broker_demo()  # starts its own IdP, chat app and legacy chat app
    title("The broker as a service: an agent with a JWT-SVID, alice's pages, her revocation")
    run_broker_service_demo()  # its own IdP, chat, legacy chat and broker service (9800)
    with tempfile.TemporaryDirectory(prefix="xaa-demo-") as tmp, servers(Path(tmp)) as urls:
        title("MCP: an MCP client calls the chat app's tools at /mcp with an XAA token")
        run_mcp_demo(*urls)
    return 0
