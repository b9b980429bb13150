"""The reference IdP and chat app in this process, on free loopback ports (demo only).

A thin shape over :class:`demo.stack.ReferenceServers` for this example: the IdP's
demo policy names this chat app, the chat app trusts this IdP, and everything lives
in a temporary directory removed afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from demo.stack import ReferenceServers


@contextlib.contextmanager
def local_stack() -> Iterator[tuple[str, str]]:
    """Serve both apps until the block ends; yields ``(idp_issuer, chat_api_url)``."""
    with ReferenceServers() as servers:
        yield servers.idp, servers.chat + "/api"
