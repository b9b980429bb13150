"""The reference IdP and chat app on free loopback ports, for runnable docs and tests.

The IdP runs its embedded demo configuration (alice/alice, the ``wiki`` client)
with every ``127.0.0.1:9400``/``:9500`` rewritten to the ports actually used, so
nothing binds the demo's fixed ports.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from types import TracebackType

import httpx

from reference_idp.app import create_app as create_idp
from reference_idp.config import demo_config_text, load_config
from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET
from reference_idp.store import Store
from reference_resource.app import create_app as create_chat
from reference_resource.settings import DEMO_EMAIL_DOMAIN, Settings
from xaa.adapters.httpx_login import login_with_password
from xaa.adapters.serving import free_port, serve_in_thread
from xaa.client import ClientConfig, ClientCredentials, IdentitySession, IdpConfig

__all__ = ["ReferenceServers"]


class ReferenceServers:
    """``idp`` and ``chat`` (its AS issuer; the API is ``chat + "/api"``) until :meth:`close`.

    With ``legacy=True`` also ``legacy``: the chat app without XAA (OAuth code flow only).
    """

    def __init__(self, *, legacy: bool = False) -> None:
        self._stack = contextlib.ExitStack()
        try:
            tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
            idp_port, chat_port = free_port(), free_port()
            self.idp = f"http://127.0.0.1:{idp_port}"
            self.chat = f"http://127.0.0.1:{chat_port}"
            text = demo_config_text().replace("http://127.0.0.1:9500", self.chat)
            (tmp / "idp.toml").write_text(text.replace("http://127.0.0.1:9400", self.idp))
            store = Store(tmp / "idp.sqlite3")
            self._stack.callback(store.close)
            idp_app = create_idp(load_config(tmp / "idp.toml"), store)
            self._stack.enter_context(serve_in_thread(idp_app, port=idp_port))
            chat = Settings.make(
                port=chat_port,
                db=str(tmp / "chat.db"),
                replay="memory",
                trust_idps=[self.idp],
                idp_email_domains=[(self.idp, DEMO_EMAIL_DOMAIN)],  # the demo users' domain
            )
            self._stack.enter_context(serve_in_thread(create_chat(chat), port=chat_port))
            self.legacy: str | None = None
            if legacy:
                port = free_port()
                old = Settings.make(legacy=True, port=port, db=str(tmp / "legacy.db"))
                self._stack.enter_context(serve_in_thread(create_chat(old), port=port))
                self.legacy = f"http://127.0.0.1:{port}"
        except BaseException:
            self._stack.close()
            raise

    def wiki_config(self) -> ClientConfig:
        """The demo ``wiki`` client: known as ``wiki`` at the IdP, ``wiki-at-chat`` at chat."""
        return ClientConfig(
            IdpConfig(self.idp, ClientCredentials.secret_basic(WIKI, WIKI_SECRET)),
            {self.chat: ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")},
        )

    def sign_in(self, username: str = "alice", password: str = "alice") -> IdentitySession:
        """The user signs in to the wiki through the IdP's login form: ID and refresh token."""
        wiki = ClientCredentials.secret_basic(WIKI, WIKI_SECRET)
        with httpx.Client() as http:
            return login_with_password(http, self.idp, wiki, username, password, WIKI_REDIRECT)

    def close(self) -> None:
        """Stop the servers and delete their databases."""
        self._stack.close()

    def __enter__(self) -> ReferenceServers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
