"""``xaa token`` (both legs from the command line) and ``xaa decode`` (read a JWT, unverified).

``--login USER:PASSWORD`` signs the user in at the IdP the way a browser would
(:func:`xaa.adapters.httpx_login.login_with_password`: the OIDC code flow with
PKCE, RFC 7636, through the IdP's HTML login form) to get an ID token: for
demos and tests only.

Output: the token, ``requested_scope`` and ``granted_scope`` (the IdP and the
resource AS may narrow a request, draft §4.3.3, §4.4.1). A failure prints one line
on stderr, no traceback: which server refused which request and its
``error_description``, and where the full reason is logged. Exit status: 0 a token,
1 the flow failed (a server refused, a peer broke the protocol), 2 a usage or
local input error or a server that cannot be reached (see docs/errors.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from .. import spec
from .._dpop import DpopKey
from .._errors import (
    ConfigurationError,
    InvalidRequest,
    OAuthError,
    ProtocolViolation,
    SignInFailed,
)
from .._jose import parse_compact
from .._keys import SigningKey
from ..actors import ActorTokenUnavailable
from ..adapters.httpx_client import XAAClient
from ..adapters.httpx_client import send as http_send
from ..adapters.httpx_login import login_with_password
from ..client import (
    AccessToken,
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
    MetadataCache,
    TokenRequestRefused,
    XaaClientError,
    discover_resource,
    run_sync,
)
from ..client._dpop import DpopKeyProver
from ..client._http import is_secure

TIMEOUT = 10.0
EXIT_FLOW_FAILED = 1
EXIT_USAGE = 2
WHERE_LOGGED = {
    "the IdP": "the reason is in the IdP's audit log (reference IdP: `xaa idp audit`)",
    "the resource AS": (
        "the reason is in the resource AS's audit log "
        "(reference chat app: the `audit` lines of its log)"
    ),
}


def register(subparsers: Any) -> None:
    """Add ``xaa token`` and ``xaa decode``."""
    cmd = subparsers.add_parser("token", help="get an access token through XAA (both legs)")
    cmd.add_argument("--idp", required=True, help="IdP issuer URL")
    cmd.add_argument(
        "--idp-token-endpoint",
        help="the IdP's token endpoint, when handed one (default: from the IdP's metadata)",
    )
    cmd.add_argument("--idp-client-id", required=True)
    secret = cmd.add_mutually_exclusive_group(required=True)
    secret.add_argument("--idp-client-secret", help="client_secret_basic at the IdP")
    secret.add_argument("--idp-key", type=Path, help="private JWK file: private_key_jwt at the IdP")
    subject = cmd.add_mutually_exclusive_group(required=True)
    subject.add_argument("--subject-token-file", type=Path, help="file holding an ID token")
    subject.add_argument("--login", metavar="USER:PASSWORD", help="sign in at the IdP (demo)")
    subject.add_argument(
        "--saml-assertion-file", type=Path, help="SAML assertion XML or base64 SAMLResponse"
    )
    cmd.add_argument("--saml-sp", metavar="ENTITY_ID", help="with --login: sign in by SAML SSO")
    cmd.add_argument("--subject-token-type", default=spec.TOKEN_TYPE_ID_TOKEN)
    cmd.add_argument("--redirect-uri", help="redirect URI registered at the IdP (with --login)")
    cmd.add_argument("--resource", required=True, help="protected resource URL (RFC 8707)")
    cmd.add_argument("--authorization-server", help="AS issuer (default: from resource metadata)")
    cmd.add_argument("--client-id", required=True, help="our client_id at the resource AS")
    cmd.add_argument("--client-secret", required=True, help="our secret at the resource AS")
    cmd.add_argument(
        "--client-auth",
        choices=[spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_CLIENT_SECRET_POST],
        default=spec.AUTH_CLIENT_SECRET_BASIC,
    )
    cmd.add_argument("--scope", default=None, help="space-separated scopes")
    cmd.add_argument(
        "--actor-token-file",
        type=Path,
        help="file holding the actor token (e.g. a JWT-SVID a workload agent refreshes)",
    )
    cmd.add_argument(
        "--actor-token-type",
        choices=[spec.TOKEN_TYPE_JWT, spec.TOKEN_TYPE_ACCESS_TOKEN],
        default=spec.TOKEN_TYPE_JWT,
    )
    cmd.add_argument(
        "--dpop",
        action="store_true",
        help="DPoP (RFC 9449) on both legs: a fresh ES256 key, proofs, a DPoP-bound token",
    )
    cmd.add_argument(
        "--dpop-key", type=Path, help="private JWK file of the DPoP key (implies --dpop)"
    )
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(func=_token)
    dec = subparsers.add_parser("decode", help="print a JWT's header and claims (NOT verified)")
    dec.add_argument("token")
    dec.set_defaults(func=_decode)


def _decode(args: argparse.Namespace) -> int:
    try:
        jws = parse_compact(args.token.strip(), error=InvalidRequest)
    except OAuthError as exc:
        detail = "" if exc.detail == "not a compact JWS" else f": {exc.detail}"
        print(f"xaa decode: not a JWT (compact JWS){detail}", file=sys.stderr)
        return EXIT_USAGE
    print("NOT VERIFIED: signature and claims were not checked")
    print("header:")
    print(json.dumps(jws.header, indent=2, sort_keys=True))
    print("claims:")
    print(json.dumps(jws.payload, indent=2, sort_keys=True))
    return 0


def _dpop_prover(args: argparse.Namespace) -> DpopKeyProver | None:
    """``--dpop-key FILE`` (a private JWK), ``--dpop`` (a fresh ES256 key), or no DPoP."""
    if args.dpop_key is not None:
        return DpopKeyProver(DpopKey.from_jwk(json.loads(args.dpop_key.read_text())))
    return DpopKeyProver.generate() if args.dpop else None


def _idp_credentials(args: argparse.Namespace) -> ClientCredentials:
    if args.idp_key is not None:
        return ClientCredentials.private_key_jwt(args.idp_client_id, SigningKey.load(args.idp_key))
    return ClientCredentials.secret_basic(args.idp_client_id, args.idp_client_secret)


def _failure(exc: BaseException) -> str:
    """One line for stderr: what failed and, for a refusal, where its reason is logged."""
    if isinstance(exc, TokenRequestRefused):
        hint = WHERE_LOGGED.get(exc.refused_by, "the reason is in the server's log")
        return f"{exc}; {hint}"
    if isinstance(exc, SignInFailed | ConfigurationError):  # their message says it all
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options before any request is sent, or None."""
    urls = {
        "--idp": args.idp,
        "--resource": args.resource,
        "--authorization-server": args.authorization_server,
    }
    for option, url in urls.items():
        if url is not None and not is_secure(url):
            return f"{option} {url!r} is not an https URL (http only on loopback)"
    actor_file = args.actor_token_file
    if actor_file is not None and not actor_file.is_file():  # a later unreadable read is exit 1
        return f"--actor-token-file {str(actor_file)!r} is not a file"
    if args.login is not None:
        user, colon, _ = args.login.partition(":")
        if not user or not colon:
            return "--login takes USER:PASSWORD"
        if not args.saml_sp and not args.redirect_uri:
            return "--login needs --redirect-uri"
    return None


def _token(args: argparse.Namespace) -> int:
    problem = _usage_problem(args)
    if problem is not None:
        print(f"xaa token: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        idp_credentials = _idp_credentials(args)
        idp = IdpConfig(args.idp, idp_credentials, token_endpoint=args.idp_token_endpoint)
        subject = None
        if args.subject_token_file is not None:
            subject = args.subject_token_file.read_text().strip()
        dpop = _dpop_prover(args)
    except (OSError, ValueError, KeyError, OAuthError) as exc:  # unreadable file, bad key
        print(f"xaa token: {_failure(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run_token(args, idp, subject, dpop)
    except (
        XaaClientError,
        ProtocolViolation,
        OAuthError,
        ActorTokenUnavailable,
        SignInFailed,
    ) as exc:  # a server that cannot be reached is the CLI's one-line usage error (exit 2)
        print(f"xaa token: {_failure(exc)}", file=sys.stderr)
        return EXIT_FLOW_FAILED


def _run_token(
    args: argparse.Namespace, idp: IdpConfig, subject: str | None, dpop: DpopKeyProver | None
) -> int:
    from ..adapters.actor_files import FileActorTokenProvider

    idp_credentials = idp.credentials
    with httpx.Client(follow_redirects=False, timeout=TIMEOUT) as http:
        send = functools.partial(http_send, http)
        metadata = MetadataCache()
        issuer = args.authorization_server
        if issuer is None:
            prm = run_sync(discover_resource(args.resource, metadata, 0.0), send)
            issuer = (prm.authorization_servers or [""])[0]
        if args.saml_assertion_file is not None or (args.login and args.saml_sp):
            session = _saml_session(http, args)  # draft §4.5: SAML -> refresh token
        elif args.login:
            user, _, password = args.login.partition(":")
            session = login_with_password(
                http, args.idp, idp_credentials, user, password, args.redirect_uri
            )
        else:
            session = IdentitySession(
                id_token=subject,
                subject="cli",
                subject_token_type=args.subject_token_type,
            )
        as_credentials = ClientCredentials(
            args.client_id, args.client_auth, secret=args.client_secret
        )
        actors = (
            FileActorTokenProvider(args.actor_token_file, token_type=args.actor_token_type)
            if args.actor_token_file is not None
            else None
        )
        config = ClientConfig(idp, {issuer: as_credentials}, actor_tokens=actors, dpop=dpop)
        client = XAAClient(config, session=session, http=http)
        token = client.get_token(args.resource, args.scope, authorization_server=issuer)
    granted = " ".join(sorted(token.granted_scopes))
    requested = " ".join(sorted(token.requested_scopes))
    for note in _narrowing_notes(token, args.idp):
        print(f"xaa token: note: {note}", file=sys.stderr)
    result = {
        "access_token": token.token,
        "token_type": token.token_type,
        "expires_in": int(token.expires_at - client.flow.config.clock()),
        "scope": granted,
        "requested_scope": requested,
        "granted_scope": granted,
        "resource": token.resource,
        "issuer": token.issuer,
    }
    if config.dpop is not None:
        result["dpop_jkt"] = config.dpop.thumbprint
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            print(f"{name}: {value}")
    return 0


def _narrowing_notes(token: AccessToken, idp: str) -> list[str]:
    """Which server narrowed the request and to what (draft §4.3.3 IdP, §4.4.1 resource AS)."""

    def words(scopes: frozenset[str]) -> str:
        return " ".join(sorted(scopes)) or "no scope"

    notes = []
    by_idp = token.idp_declined_scopes
    if by_idp:
        notes.append(
            f"the IdP at {idp} declined {words(by_idp)} "
            f"(granted {words(token.requested_scopes - by_idp)} of "
            f"{words(token.requested_scopes)}; by its policy)"
        )
    by_as = token.declined_scopes - by_idp
    if by_as:
        notes.append(
            f"the resource AS at {token.issuer} declined {words(by_as)} "
            f"(granted {words(token.granted_scopes)}; by its policy)"
        )
    return notes


def _saml_session(http: httpx.Client, args: argparse.Namespace) -> IdentitySession:
    from ..adapters.httpx_login import login_with_saml
    from ..client._saml import saml_session
    from ._saml import read_assertion_file

    if args.saml_assertion_file is not None:
        return saml_session(read_assertion_file(args.saml_assertion_file))
    user, _, password = args.login.partition(":")
    login = login_with_saml(http, args.idp, args.saml_sp, user, password)
    return saml_session(login.subject_token())
