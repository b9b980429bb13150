"""The real reference apps on loopback for the broker's e2e and browser tests.

The reference IdP (its demo configuration, ports rewritten), the chat app (XAA),
the legacy chat app (``--legacy``: no XAA) and a broker whose callback route is
served by uvicorn on the test's own event loop.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import uvicorn
from starlette.applications import Starlette

from reference_idp.app import create_app as create_idp
from reference_idp.config import demo_config_text, load_config
from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET
from reference_idp.store import Store
from reference_resource.app import create_app as create_chat
from reference_resource.settings import Settings
from tests.support.servers import free_port, serve
from xaa import spec
from xaa.adapters.broker import Broker, Keyring
from xaa.adapters.httpx_login import login_with_password
from xaa.adapters.starlette_broker import callback_route
from xaa.broker import AppConfig, MemorySessions
from xaa.client import ClientCredentials, IdentitySession, IdpConfig

LEGACY_USER, LEGACY_PASSWORD = "alice", "alice-chat"  # the legacy app's own demo login


@dataclass
class Stack:
    idp: str
    chat: str
    legacy: str
    callback: str
    tmp: Path


@contextlib.contextmanager
def reference_stack(tmp: Path) -> Iterator[Stack]:
    """IdP, chat and legacy chat on ephemeral loopback ports."""
    idp_port, chat_port, legacy_port, callback_port = (free_port() for _ in range(4))
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    text = demo_config_text().replace("http://127.0.0.1:9500", chat)
    text = text.replace("http://127.0.0.1:9400", idp)
    (tmp / "idp.toml").write_text(text)
    idp_app = create_idp(load_config(tmp / "idp.toml"), Store(tmp / "idp.sqlite3"))
    chat_settings = Settings.make(
        port=chat_port,
        db=str(tmp / "chat.db"),
        replay="memory",
        trust_idps=[idp],
        idp_email_domains=[(idp, "acme.example")],
    )
    legacy_settings = Settings.make(
        legacy=True, port=legacy_port, db=str(tmp / "legacy.db"), replay="memory"
    )
    with (
        serve(idp_app, idp_port) as idp_url,
        serve(create_chat(chat_settings), chat_port) as chat_url,
        serve(create_chat(legacy_settings), legacy_port) as legacy_url,
    ):
        yield Stack(
            idp_url, chat_url, legacy_url, f"http://127.0.0.1:{callback_port}/callback", tmp
        )


def alice_session(stack: Stack) -> IdentitySession:
    """Alice signs in at the reference IdP (its login form); her ID and refresh tokens."""
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        return login_with_password(
            http,
            stack.idp,
            ClientCredentials.secret_basic(WIKI, WIKI_SECRET),
            "alice",
            "alice",
            WIKI_REDIRECT,
        )


def stack_broker(stack: Stack, http: httpx.AsyncClient | None = None) -> Broker:
    """A broker for the stack: chat by discovery (XAA), legacy chat by discovery (fallback)."""
    apps = [
        AppConfig("chat", stack.chat, stack.chat + "/api", "wiki-at-chat"),
        AppConfig(
            "legacy-chat",
            stack.legacy,
            stack.legacy + "/api",
            "agent-at-chat",
            auth_method=spec.AUTH_CLIENT_SECRET_POST,
            redirect_uri=stack.callback,
        ),
    ]
    broker = Broker.from_sqlite(
        stack.tmp / "broker.sqlite3",
        apps,
        keyring=Keyring.generate(),
        idp=IdpConfig(stack.idp, ClientCredentials.secret_basic(WIKI, WIKI_SECRET)),
        sessions=MemorySessions({"alice": alice_session(stack)}),
        http=http,
    )
    broker.set_client_secret("chat", "wiki-chat-secret")
    broker.set_client_secret("legacy-chat", "agent-chat-secret")
    return broker


@contextlib.asynccontextmanager
async def callback_server(broker: Broker, callback: str) -> AsyncIterator[str]:
    """Serve the broker's callback route on this event loop (the broker's HTTP client's loop)."""
    port = int(callback.split(":")[2].split("/")[0])
    app = Starlette(routes=[callback_route(broker, "/callback")])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.01)
        try:
            yield callback
        finally:
            server.should_exit = True


async def consent_like_a_browser(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """The legacy app's login and consent forms, by hand; returns the callback's answer."""
    page = await http.get(url)
    pending = re.search(r"name='pending' value='([^']+)'", page.text)
    assert page.status_code == 200 and pending is not None, page.text[:200]
    base = url.split("/authorize")[0]
    form = {"pending": pending.group(1), "username": LEGACY_USER, "password": LEGACY_PASSWORD}
    consent = await http.post(base + "/login", data=form)
    assert "Allow access?" in consent.text
    answer = await http.post(
        base + "/consent", data={"pending": pending.group(1), "decision": "allow"}
    )
    assert answer.status_code == 303
    return await http.get(answer.headers["location"])
