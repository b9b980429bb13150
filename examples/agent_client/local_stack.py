"""The reference IdP and chat app in this process, on free loopback ports (demo only).

Each is configured for the other: the IdP's demo policy names this chat app, the chat
app trusts this IdP. Everything lives in a temporary directory removed afterwards.
"""

from __future__ import annotations

import contextlib
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from xaa.adapters.serving import free_port, serve_in_thread

DEMO_IDP, DEMO_CHAT = "http://127.0.0.1:9400", "http://127.0.0.1:9500"


@contextlib.contextmanager
def local_stack() -> Iterator[tuple[str, str]]:
    """Serve both apps until the block ends; yields ``(idp_issuer, chat_api_url)``."""
    from reference_idp.app import create_app as create_idp
    from reference_idp.config import IdpConfig, demo_config_text
    from reference_idp.store import Store
    from reference_resource.app import create_app as create_chat
    from reference_resource.settings import Settings

    idp_port, chat_port = free_port(), free_port()
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    text = demo_config_text().replace(DEMO_CHAT, chat).replace(DEMO_IDP, idp)
    with tempfile.TemporaryDirectory(prefix="xaa-example-") as workdir:
        store = Store(Path(workdir) / "idp.db")
        settings = Settings.make(port=chat_port, db=str(Path(workdir) / "chat.db"))
        settings = replace(
            settings,
            replay="memory",
            trusted_idps=(idp,),
            idp_email_domains=((idp, "acme.example"),),  # the demo users' domain
        )
        try:
            with (
                serve_in_thread(
                    create_idp(IdpConfig.model_validate(tomllib.loads(text)), store), port=idp_port
                ),
                serve_in_thread(create_chat(settings), port=chat_port),
            ):
                yield idp, chat + "/api"
        finally:
            store.close()
