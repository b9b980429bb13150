"""MCP client side: the IdP leg for the MCP SDK's ``IdentityAssertionOAuthProvider``.

The SDK presents the ID-JAG to the MCP authorization server (draft §4.4) but
leaves obtaining it (draft §4.3) to the application. :func:`assertion_provider`
fills that gap with xaa: the token exchange at the IdP, every client check of docs/security.md
on the response, and the ID token -> refresh token -> re-authentication ladder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from ._extras import missing_extra

try:
    from ..client._cache import IdentitySession
    from .httpx_client import AsyncXAAClient
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "client", exc) from None

__all__ = [
    "AssertionProvider",
    "assertion_provider",
]

AssertionProvider = Callable[[str, str], Awaitable[str]]


def assertion_provider(
    client: AsyncXAAClient,
    *,
    client_id: str | None = None,
    scope: Iterable[str] | str | None = None,
    session: IdentitySession | None = None,
) -> AssertionProvider:
    """An ``assertion_provider(audience, resource)`` returning a fresh, checked ID-JAG.

    ``audience`` is the MCP AS issuer the SDK was configured with; ``client_id``
    is ours there (default: from ``client``'s ``authorization_servers``). The
    ID-JAG is checked (``typ``, ``aud`` == ``audience``, ``client_id``) before the
    SDK sends it anywhere.
    """

    async def provide(audience: str, resource: str) -> str:
        jag = await client.get_id_jag(
            audience, resource, scope, session=session, client_id=client_id
        )
        return jag.token

    return provide
