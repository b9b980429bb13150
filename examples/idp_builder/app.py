"""The provider with ID-JAG issuance: routes, and a command to run it.

python -m examples.idp_builder --issuer http://127.0.0.1:9800 --notes-as http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xaa import (
    ConfigurationError,
    KeyRing,
    OAuthError,
    RegisteredClient,
    SigningKey,
    UnsupportedGrantType,
    authenticate_client,
    json_response,
    parse_form,
    spec,
)
from xaa.adapters.starlette import (
    error_response,
    json_document,
    lower_headers,
    read_form_body,
    to_starlette,
)
from xaa.idp import TokenExchangeEndpoint

from .issuance import AUDIT_LOGGER, LogAudit, metadata, token_exchange
from .provider import Client, Directory, Grants, Provider, User, hash_password

WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
AGENT_REDIRECT = "http://127.0.0.1:9701/callback"


def demo_directory(agent_jwks: dict[str, object]) -> Directory:
    """Two users and two clients: wiki (client_secret_basic), agent (private_key_jwt).
    DEMO ONLY: the passwords and the secret are public."""
    users = [
        User("u-1001", "alice", hash_password("alice"), "alice@acme.example",
             frozenset({"engineering"})),
        User("u-1002", "bob", hash_password("bob"), "bob@acme.example", frozenset({"sales"})),
    ]  # fmt: skip
    clients = [
        Client(RegisteredClient.with_secret("wiki", "wiki-secret"), frozenset({WIKI_REDIRECT})),
        Client(RegisteredClient.with_jwks("agent", agent_jwks), frozenset({AGENT_REDIRECT})),
    ]
    return Directory(users, clients)


def create_app(
    issuer: str, key_file: Path, agent_jwks: dict[str, object], notes_as: str
) -> Starlette:
    """The provider at ``issuer``; its signing key is kept in ``key_file``."""
    keys = KeyRing.single(SigningKey.load_or_generate(key_file))
    directory, grants, audit = demo_directory(agent_jwks), Grants(), LogAudit()
    provider = Provider(issuer, directory, grants, keys)
    exchange = token_exchange(issuer, keys, directory, grants, notes_as, audit)
    document = metadata(issuer, exchange)

    async def token(request: Request) -> Response:
        try:
            form = TokenExchangeEndpoint.parse(await read_form_body(request))
        except OAuthError as exc:
            return error_response(exc, where="token")
        headers = lower_headers(request)
        if form.get(spec.P_GRANT_TYPE) == spec.GRANT_TOKEN_EXCHANGE:
            return to_starlette(exchange.exchange(headers, form))  # the ID-JAG (draft §4.3)
        now = time.time()
        try:
            if form.get(spec.P_GRANT_TYPE) != spec.GRANT_AUTHORIZATION_CODE:
                # jwt-bearer included: the IdP never redeems an ID-JAG itself (draft §8.3)
                raise UnsupportedGrantType(detail="only authorization_code and token exchange")
            client = authenticate_client(
                headers, form, clients=directory, issuer=issuer, replay=exchange.replay, now=now
            )
            body = provider.code_grant(client, form, now)
        except OAuthError as exc:
            return error_response(exc, where="token")
        return to_starlette(json_response(200, body))

    async def revoke(request: Request) -> Response:
        """RFC 7009: revoke a refresh token of the authenticated client; unknown ones too."""
        try:
            form = parse_form(await read_form_body(request))
            headers = lower_headers(request)
            client = authenticate_client(
                headers, form, clients=directory, issuer=issuer, replay=exchange.replay,
                now=time.time(),
            )  # fmt: skip
        except OAuthError as exc:
            return error_response(exc, where="revoke")
        grants.revoke(form.get("token") or "", client.client_id)
        return Response(status_code=200, headers={"cache-control": "no-store"})

    meta = json_document(lambda: document)
    app = Starlette(
        routes=[
            Route("/authorize", provider.authorize),
            Route("/login", provider.login, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/jwks", json_document(lambda: keys.jwks())),
            Route(spec.WELL_KNOWN_OAUTH_AS, meta),
            Route(spec.WELL_KNOWN_OPENID, meta),
        ]
    )
    app.state.directory, app.state.audit = directory, audit
    return app


def _reason(exc: Exception) -> str:
    """One line about a file that cannot be used (an OSError without its path)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the provider (the agent's public JWKS comes from a file). A bad file is one
    line and exit 2, never a traceback; the audit sink's lines go to standard error."""
    import json
    import logging

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m examples.idp_builder")
    parser.add_argument("--issuer", default="http://127.0.0.1:9800", help="%(default)s")
    parser.add_argument(
        "--notes-as", default="http://127.0.0.1:8000", help="the audience: %(default)s"
    )
    parser.add_argument(
        "--key-file", type=Path, default=Path("idp-signing-key.jwk"), help="%(default)s"
    )
    parser.add_argument("--agent-jwks", type=Path, required=True, help="the agent's public JWKS")
    args = parser.parse_args(argv)
    try:
        jwks = json.loads(args.agent_jwks.read_text("utf-8"))
        if not isinstance(jwks, dict):
            raise ValueError('not a JWKS object ({"keys": [...]})')
        RegisteredClient.with_jwks("agent", jwks)
    except (OSError, ValueError, ConfigurationError) as exc:  # one line, exit 2
        parser.error(f"--agent-jwks {args.agent_jwks}: {_reason(exc)}")
    try:
        app = create_app(args.issuer, args.key_file, jwks, args.notes_as)
    except (OSError, ValueError) as exc:  # UnusableKey is a ValueError
        parser.error(f"--key-file {args.key_file}: {_reason(exc)}")
    logging.basicConfig(format="%(name)s %(message)s")
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)  # LogAudit's line per decision
    port = urlsplit(args.issuer).port or 9800
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
