"""``xaa token`` (both legs from the command line) and ``xaa decode`` (read a JWT, unverified).

``--login USER:PASSWORD`` signs the user in at the IdP the way a browser would
(OIDC authorization code flow with PKCE, RFC 7636, through the IdP's HTML login
form) to get an ID token: for demos and tests only.

Output: the token, ``requested_scope`` and ``granted_scope`` (the IdP and the
resource AS may narrow a request, draft §4.3.3, §4.4.1). A failure prints one line
on stderr, no traceback: which server refused which request and its
``error_description``, and where the full reason is logged. Exit status: 0 a token,
1 the flow failed (a server refused, a peer broke the protocol, a server was
unreachable), 2 a usage or local input error (see docs/errors.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import secrets
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from .. import pkce, spec
from ..actors import ActorTokenUnavailable
from ..adapters.httpx_client import XAAClient
from ..adapters.httpx_client import send as http_send
from ..client import (
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
    MetadataCache,
    TokenRequestRefused,
    XaaClientError,
    discover_authorization_server,
    discover_resource,
    run_sync,
)
from ..client.dpop import DpopKeyProver
from ..client.http import Request, require_same_origin
from ..client.requests import raise_for_error
from ..dpop import DpopKey
from ..errors import InvalidRequest, OAuthError, ProtocolViolation
from ..forms import encode_form
from ..jose import parse_compact
from ..keys import SigningKey

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
        print(f"not a compact JWS: {exc.detail}", file=sys.stderr)
        return 2
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
        jwk = json.loads(args.idp_key.read_text())
        return ClientCredentials.private_key_jwt(args.idp_client_id, SigningKey.from_jwk(jwk))
    return ClientCredentials.secret_basic(args.idp_client_id, args.idp_client_secret)


def _failure(exc: BaseException) -> str:
    """One line for stderr: what failed and, for a refusal, where its reason is logged."""
    if isinstance(exc, TokenRequestRefused):
        hint = WHERE_LOGGED.get(exc.refused_by, "the reason is in the server's log")
        return f"{exc}; {hint}"
    if isinstance(exc, httpx.RequestError):
        url = exc.request.url.copy_with(query=None, fragment=None)
        return f"could not reach {url}: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _token(args: argparse.Namespace) -> int:
    try:
        idp_credentials = _idp_credentials(args)
        idp = IdpConfig(args.idp, idp_credentials, token_endpoint=args.idp_token_endpoint)
        subject = None
        if args.subject_token_file is not None:
            subject = args.subject_token_file.read_text().strip()
        dpop = _dpop_prover(args)
    except (OSError, ValueError, KeyError, OAuthError) as exc:  # unreadable file, bad key
        print(f"xaa token: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _run_token(args, idp, subject, dpop)
    except (
        XaaClientError,
        ProtocolViolation,
        OAuthError,
        ActorTokenUnavailable,
        httpx.RequestError,
    ) as exc:
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
            if not args.redirect_uri:
                print("xaa token: --login needs --redirect-uri", file=sys.stderr)
                return EXIT_USAGE
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
    if token.declined_scopes:
        print(
            f"xaa token: note: granted {granted or 'no scope'} of {requested} "
            "(the IdP or the resource AS narrowed the request by policy)",
            file=sys.stderr,
        )
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


def _saml_session(http: httpx.Client, args: argparse.Namespace) -> IdentitySession:
    from ..client.saml import saml_session
    from .saml import login_with_saml, read_assertion_file

    if args.saml_assertion_file is not None:
        return saml_session(read_assertion_file(args.saml_assertion_file))
    user, _, password = args.login.partition(":")
    login = login_with_saml(http, args.idp, args.saml_sp, user, password)
    return saml_session(login.subject_token())


class _LoginForm(HTMLParser):
    """The first ``<form>`` of a page: its action and its input fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form, self.action = True, attributes.get("action", "")
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def login_with_password(
    http: httpx.Client,
    idp_issuer: str,
    credentials: ClientCredentials,
    username: str,
    password: str,
    redirect_uri: str,
) -> IdentitySession:
    """Sign ``username`` in at the IdP's login form (OIDC code flow with PKCE); demo only.

    Returns the session with the ID token (and refresh token, if the IdP gave one).
    """
    send = functools.partial(http_send, http)
    meta = run_sync(
        discover_authorization_server(idp_issuer, MetadataCache(), 0.0, require=None), send
    )
    if meta.authorization_endpoint is None or meta.token_endpoint is None:
        raise ProtocolViolation("as-metadata", "the IdP has no authorization or token endpoint")
    require_same_origin(meta.token_endpoint, idp_issuer)
    verifier, challenge = pkce.new_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": credentials.client_id,
        "scope": "openid offline_access",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "redirect_uri": redirect_uri,
    }
    authorize_url = f"{meta.authorization_endpoint}?{urlencode(params)}"
    page = http.get(authorize_url, follow_redirects=False)
    if page.status_code != 200:
        raise ProtocolViolation("login", f"the authorize page answered HTTP {page.status_code}")
    form = _LoginForm()
    form.feed(page.text)
    fields = {**form.fields, "username": username, "password": password}
    action = urljoin(str(page.url), form.action) if form.action else str(page.url)
    require_same_origin(action, idp_issuer)
    answer = http.post(action, data=fields, follow_redirects=False)
    location = answer.headers.get("location")
    if answer.status_code not in (302, 303) or not location:
        raise ProtocolViolation("login", f"sign-in failed (HTTP {answer.status_code})")
    query = parse_qs(urlsplit(location).query)
    if query.get("state") != [state] or "code" not in query:
        raise ProtocolViolation("login", "the IdP did not return a code for our state")
    if "iss" in query and query["iss"] != [idp_issuer]:  # RFC 9207 §2.4
        raise ProtocolViolation("login", "the authorization response names another issuer")
    token_form: dict[str, str | list[str]] = {
        spec.P_GRANT_TYPE: spec.GRANT_AUTHORIZATION_CODE,
        spec.P_CODE: query["code"][0],
        spec.P_CODE_VERIFIER: verifier,
        spec.P_REDIRECT_URI: redirect_uri,
    }
    headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
    credentials.apply(token_form, headers, issuer=idp_issuer, now=time.time())
    response = send(Request("POST", meta.token_endpoint, headers, encode_form(token_form)))
    raise_for_error(response, where="IdP")
    body = json.loads(response.body)
    id_token, refresh = body.get("id_token"), body.get("refresh_token")
    if not isinstance(id_token, str):
        raise ProtocolViolation("login", "the IdP returned no ID token")
    return IdentitySession(
        id_token=id_token, refresh_token=refresh if isinstance(refresh, str) else None
    )
