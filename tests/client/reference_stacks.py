"""The reference IdP and chat app on free loopback ports, each configured for the other.

Shared by the client's end-to-end tests and tests/examples.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from tests.support.servers import free_port, serve

DEMO_IDP = "http://127.0.0.1:9400"  # the issuer the demo configuration names
DEMO_CHAT = "http://127.0.0.1:9500"
UNTRUSTED = "https://no-idp-trusted.invalid"


@dataclass(frozen=True)
class Servers:
    idp: str
    chat: str

    @property
    def api(self) -> str:
        return self.chat + "/api"


@contextlib.contextmanager
def reference_stack(tmp_path: Path, *, trust_idp: bool = True) -> Iterator[Servers]:
    """Both apps; with ``trust_idp=False`` the chat app trusts no IdP we run."""
    from reference_idp.app import create_app as create_idp
    from reference_idp.config import IdpConfig as ReferenceIdpConfig
    from reference_idp.config import demo_config_text
    from reference_idp.store import Store
    from reference_resource.app import create_app as create_chat
    from reference_resource.settings import Settings

    idp_port, chat_port = free_port(), free_port()
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    text = demo_config_text().replace(DEMO_CHAT, chat).replace(DEMO_IDP, idp)
    idp_config = ReferenceIdpConfig.model_validate(tomllib.loads(text))
    settings = replace(
        Settings.make(port=chat_port, db=str(tmp_path / "chat.db"), replay="memory"),
        trusted_idps=(idp if trust_idp else UNTRUSTED,),
        idp_email_domains=((idp, "acme.example"),),  # the demo users' domain
    )
    store = Store(tmp_path / "idp.db")
    try:
        with (
            serve(create_idp(idp_config, store), port=idp_port),
            serve(create_chat(settings), port=chat_port),
        ):
            yield Servers(idp, chat)
    finally:
        store.close()
