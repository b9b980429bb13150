"""An agent reading and posting in chat for its users through XAA (draft-03 §4.3, §4.4).

For each user: sign in at the IdP (the demo login form), then

1. one call: ``XAAClient.get_token`` runs both legs and shows the requested and the
   granted scope (the IdP narrows bob's request by policy, draft-03 §4.3.3);
2. ``XAAAuth`` on a sync ``httpx.Client``: read the channels, then post a message,
   which needs ``chat.write``: the API's 403 ``insufficient_scope`` makes ``XAAAuth``
   step up once (RFC 6750 §3.1); alice gets it, bob's IdP declines (``ScopeNotGranted``);
3. ``XAAAuth`` on an ``httpx.AsyncClient``: read the channel's messages.

Without ``--idp`` and ``--resource`` (or ``XAA_IDP`` and ``XAA_RESOURCE``) it starts
the reference IdP and chat app itself on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from xaa import SigningKey, XaaError
from xaa.adapters.httpx_client import AsyncXAAClient, XAAAuth, XAAClient
from xaa.adapters.httpx_login import login_with_password
from xaa.client import (
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
    ScopeNotGranted,
    TokenRequestRefused,
)

REDIRECT_URI = "http://127.0.0.1:9701/callback"  # registered for the demo agent; never served


def _scopes(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes)) or "(none)"


def agent_credentials(key_file: str | None) -> ClientCredentials:
    """The agent at the IdP: ``private_key_jwt`` with its key (the demo key by default)."""
    if key_file is not None:
        jwk = json.loads(Path(key_file).read_text())
    else:
        from reference_idp.config import load_config  # DEMO ONLY: a public key pair

        jwk = load_config().demo["agent_private_jwk"]
    return ClientCredentials.private_key_jwt("agent", SigningKey.from_jwk(jwk))


def one_call(config: ClientConfig, session: IdentitySession, api: str) -> None:
    """Both legs in one call; the token says what was asked for and what was granted."""
    client = XAAClient(config, session=session)
    try:
        token = client.get_token(api, "chat.read chat.write")
    finally:
        client.close()
    line = (
        f"one call (XAAClient): requested {_scopes(token.requested_scopes)}, "
        f"granted {_scopes(token.granted_scopes)}"
    )
    if token.declined_scopes:
        line += f" (narrowed: {_scopes(token.declined_scopes)} declined)"
    print(line)


def sync_auth(config: ClientConfig, session: IdentitySession, api: str, channel: str) -> None:
    """``XAAAuth`` on ``httpx.Client``: read with chat.read, then step up to post."""
    auth = XAAAuth(config, resource=api, scope="chat.read", session=session)
    try:
        with httpx.Client(auth=auth) as http:
            listed = http.get(f"{api}/channels")
            print(f"sync XAAAuth: GET /channels -> {listed.status_code}")
            try:
                posted = http.post(
                    f"{api}/channels/{channel}/messages", json={"text": "hello from the agent"}
                )
            except ScopeNotGranted as declined:
                print(f"sync XAAAuth: POST needs chat.write -> step-up declined: {declined}")
            else:
                print(
                    f"sync XAAAuth: POST needs chat.write -> {posted.status_code} "
                    f"after step-up to {_scopes(auth.scope)}"
                )
    finally:
        auth.close()


async def async_auth(
    config: ClientConfig, session: IdentitySession, api: str, channel: str
) -> None:
    """The same ``XAAAuth`` class on ``httpx.AsyncClient`` (with an ``AsyncXAAClient``)."""
    auth = XAAAuth(AsyncXAAClient(config, session=session), resource=api, scope="chat.read")
    try:
        async with httpx.AsyncClient(auth=auth) as http:
            read = await http.get(f"{api}/channels/{channel}/messages")
            count = len(read.json().get("messages", [])) if read.status_code == 200 else 0
            print(
                f"async XAAAuth: GET /channels/{channel}/messages -> {read.status_code}, "
                f"{count} message(s)"
            )
    finally:
        await auth.aclose()


def run(args: argparse.Namespace, idp: str, api: str) -> int:
    """Every step for every ``--user``."""
    authorization_server = args.authorization_server or "{0.scheme}://{0.netloc}".format(
        urlsplit(api)
    )
    credentials = agent_credentials(args.idp_key)
    config = ClientConfig(
        IdpConfig(idp, credentials, token_endpoint=args.idp_token_endpoint),
        {authorization_server: ClientCredentials.secret_post(args.client_id, args.client_secret)},
    )
    for user in args.user:
        name, _, password = user.partition(":")
        print(f"== {name}")
        try:
            with httpx.Client() as http:  # demo sign-in through the IdP's login form
                session = login_with_password(http, idp, credentials, name, password, REDIRECT_URI)
            one_call(config, session, api)
            sync_auth(config, session, api, args.channel)
            asyncio.run(async_auth(config, session, api, args.channel))
        except TokenRequestRefused as refused:
            print(f"refused: {refused}", file=sys.stderr)
            return 1
        except (XaaError, httpx.HTTPError) as failed:  # one line, never a traceback
            print(f"failed: {failure(failed)}", file=sys.stderr)
            return 1
    return 0


def failure(exc: BaseException) -> str:
    """What failed, with the URL when a server could not be reached."""
    if isinstance(exc, httpx.RequestError):
        return f"{type(exc).__name__}: {exc} ({exc.request.method} {exc.request.url})"
    return f"{type(exc).__name__}: {exc}"


def parser() -> argparse.ArgumentParser:
    """Arguments, each with an environment variable as default."""
    env = os.environ.get
    cli = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cli.add_argument("--idp", default=env("XAA_IDP"), help="IdP issuer (XAA_IDP)")
    cli.add_argument("--resource", default=env("XAA_RESOURCE"), help="chat API URL (XAA_RESOURCE)")
    cli.add_argument(
        "--authorization-server",
        default=env("XAA_AS"),
        help="resource AS issuer (XAA_AS; default: the resource's origin)",
    )
    cli.add_argument(
        "--idp-token-endpoint",
        default=env("XAA_IDP_TOKEN_ENDPOINT"),
        help="the IdP's token endpoint, if handed one (default: discovered)",
    )
    cli.add_argument(
        "--idp-key", default=env("XAA_IDP_KEY"), help="agent's private JWK file (default: demo)"
    )
    cli.add_argument("--client-id", default=env("XAA_CLIENT_ID", "agent-at-chat"))
    cli.add_argument("--client-secret", default=env("XAA_CLIENT_SECRET", "agent-chat-secret"))
    cli.add_argument("--channel", default="general")
    cli.add_argument(
        "--user",
        action="append",
        metavar="NAME:PASSWORD",
        help="a demo user to act for; repeatable (default: bob:bob and alice:alice)",
    )
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run against the given servers, or start the reference ones."""
    args = parser().parse_args(argv)
    args.user = args.user or ["bob:bob", "alice:alice"]
    if args.idp and args.resource:
        return run(args, args.idp, args.resource)
    if args.idp or args.resource:
        print("give both --idp and --resource, or neither", file=sys.stderr)
        return 2
    from examples.agent_client.local_stack import local_stack

    with local_stack() as (idp, api):
        print(f"started the reference IdP at {idp} and the chat API at {api}")
        return run(args, idp, api)


if __name__ == "__main__":
    sys.exit(main())
