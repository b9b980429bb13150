"""An MCP client whose access token comes through XAA, calling the example's tools.

1. alice signs in at the reference IdP (here through its demo login form; a real
   client has her ID token from its own OpenID Connect login);
2. xaa exchanges her ID token for an ID-JAG at the IdP (draft-03 §4.3) and
   redeems it at the MCP server's authorization server (draft-03 §4.4);
3. the MCP SDK client calls ``whoami`` and ``add_note`` over streamable HTTP.

Two ways to wire step 2 (both shown, ``--sdk-auth`` picks the second):

- xaa does both legs: :class:`xaa.adapters.httpx2_client.XAAAuth` on the
  ``httpx2.AsyncClient`` the SDK transport uses (RFC 9728 discovery from ``/mcp``);
- the SDK's ``IdentityAssertionOAuthProvider`` does the second leg and asks xaa's
  :func:`xaa.adapters.mcp_client.assertion_provider` for the ID-JAG.

Run (with the IdP and ``examples.mcp.server`` running)::

    .venv/bin/python -m examples.mcp.client --note "hello from alice"

DEMO ONLY: the secrets below are public.
"""

from __future__ import annotations

import argparse
import functools
import json
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from xaa.adapters.httpx2_client import AsyncXAAClient, XAAAuth
from xaa.adapters.httpx_login import login_with_password
from xaa.adapters.mcp_client import assertion_provider
from xaa.client import ClientConfig, ClientCredentials, IdentitySession, IdpConfig

IDP = "http://127.0.0.1:9400"
SERVER = "http://127.0.0.1:9800/mcp"
SCOPE = "notes.read notes.write"
REDIRECT_URI = "http://127.0.0.1:9801/callback"  # registered at the IdP; never called here
# Our identity at the IdP and at the MCP server's AS (each knows us by its own name).
AT_IDP = ClientCredentials.secret_basic("assistant", "assistant-secret")  # DEMO ONLY
AS_CLIENT_ID, AS_CLIENT_SECRET = "assistant-at-notes", "assistant-notes-secret"  # DEMO ONLY


def sign_in(idp: str, username: str = "alice", password: str = "alice") -> IdentitySession:
    """alice's ID token and refresh token from the IdP (demo login form, code + PKCE)."""
    with httpx.Client(timeout=10) as http:
        return login_with_password(http, idp, AT_IDP, username, password, REDIRECT_URI)


def origin(url: str) -> str:
    """The MCP server's origin: its authorization server's issuer in this example."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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


async def call_tools(server: str, auth: httpx2.Auth, note: str) -> dict[str, Any]:
    """Call ``whoami`` and ``add_note`` with ``auth`` on every MCP HTTP request."""
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(server, http_client=http)) as mcp,
    ):
        who = await mcp.call_tool("whoami", {})
        added = await mcp.call_tool("add_note", {"text": note})
    for result in (who, added):
        if result.is_error:
            raise RuntimeError(f"tool error: {result.content}")
    return {"whoami": who.structured_content, "add_note": added.structured_content}


async def run(
    session: IdentitySession,
    *,
    idp: str = IDP,
    server: str = SERVER,
    note: str = "hello",
    scope: str = SCOPE,
    sdk_auth: bool = False,
) -> dict[str, Any]:
    """Get the token through XAA for ``session`` and call the tools."""
    issuer = origin(server)
    config = ClientConfig(
        IdpConfig(idp, AT_IDP),
        {issuer: ClientCredentials.secret_basic(AS_CLIENT_ID, AS_CLIENT_SECRET)},
    )
    xaa = AsyncXAAClient(config, session=session)
    auth: httpx2.Auth
    if sdk_auth:
        auth = IdentityAssertionOAuthProvider(
            server_url=server,
            storage=MemoryTokens(),
            client_id=AS_CLIENT_ID,
            client_secret=AS_CLIENT_SECRET,
            issuer=issuer,
            assertion_provider=assertion_provider(xaa, scope=scope),
            scope=scope,
            token_endpoint_auth_method="client_secret_basic",
        )
    else:
        auth = XAAAuth(xaa, resource=server, scope=scope)
    try:
        return await call_tools(server, auth, note)
    finally:
        await xaa.aclose()


def first_cause(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (the SDK's task groups wrap what failed)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main(argv: list[str] | None = None) -> None:
    """``python -m examples.mcp.client [--idp URL] [--server URL] [--note TEXT] [--sdk-auth]``.

    A failure (a server down, a refusal, a wrong URL) is one line on stderr, exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idp", default=IDP, help=f"the IdP issuer (default {IDP})")
    parser.add_argument(
        "--server", default=SERVER, help=f"the MCP endpoint, path included (default {SERVER})"
    )
    parser.add_argument("--note", default="hello from alice")
    parser.add_argument("--sdk-auth", action="store_true", help="the SDK's provider, xaa's ID-JAG")
    args = parser.parse_args(argv)
    try:
        session = sign_in(args.idp)
        call = functools.partial(
            run, session, idp=args.idp, server=args.server, note=args.note, sdk_auth=args.sdk_auth
        )
        result = anyio.run(call)
    except Exception as failed:  # one line for the person at the terminal, no traceback
        cause = first_cause(failed)
        where = ""
        if isinstance(cause, httpx.RequestError | httpx2.RequestError):  # which server
            where = f" ({cause.request.method} {cause.request.url})"
        raise SystemExit(f"examples.mcp.client: {type(cause).__name__}: {cause}{where}") from None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
