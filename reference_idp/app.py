"""The reference IdP: an OpenID Connect provider that issues ID-JAGs (draft §4.3).

Endpoints: ``/authorize`` (code flow, PKCE S256 required, ``state``, ``nonce``,
``max_age``, ``prompt=login|none``), ``/login`` (HTML form, CSRF-protected),
``/token`` (``authorization_code``, ``refresh_token`` with rotation, token
exchange for ID-JAGs; nothing else: the IdP never issues an access token for an
ID-JAG, draft §8.3), ``/userinfo``, ``/revoke`` (RFC 7009), ``/jwks`` and both
well-known metadata documents. Built only on the public API of ``xaa``.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from math import ceil
from typing import Any, Literal
from urllib.parse import urlencode

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from xaa import (
    AccessTokenClaims,
    AggregatingAuditSink,
    AuditEvent,
    AuditSink,
    AuthenticatedClient,
    DpopVerifier,
    Form,
    HttpResponse,
    IdTokenClaims,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    LoginThrottle,
    OAuthError,
    UnsupportedGrantType,
    attempted_client_id,
    authenticate_client,
    clean_text,
    format_scope,
    issue_access_token,
    issue_id_token,
    json_response,
    parse_form,
    parse_scope,
    pkce,
    spec,
    verify_access_token,
)
from xaa.adapters.starlette import (
    AuditAddressMiddleware,
    BlockingCalls,
    HttpEdge,
    error_response,
    json_document,
    lower_headers,
    read_form_body,
    to_starlette,
)
from xaa.dpop import HmacNonceSource
from xaa.idp import (
    TokenExchangeEndpoint,
    actor_validator_from_config,
    idp_metadata,
    validate_refresh_token,
)

from .admin import admin_routes
from .config import IdpConfig
from .console_store import ConsoleStore, recording
from .pages import error_page, login_page
from .saml import SamlIdp, build_saml, saml_routes
from .store import Session, Store, token_hash
from .stored_policy import StoredPolicy

log = logging.getLogger("reference_idp")

_TOO_MANY = "Too many failed sign-ins. Try again in {} seconds."
SESSION_COOKIE = "xaa_idp_session"
CSRF_COOKIE = "xaa_idp_csrf"
ACR_PASSWORD = "urn:xaa:acr:password"
AMR_PASSWORD = ("pwd",)
GRANT_TYPES = (spec.GRANT_AUTHORIZATION_CODE, spec.GRANT_REFRESH_TOKEN, spec.GRANT_TOKEN_EXCHANGE)
SCOPES = ("openid", "email", "profile", "offline_access")
CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "email", "azp")


@dataclass
class Idp:
    """The IdP's parts: configuration, database and the library's token exchange."""

    config: IdpConfig
    store: Store
    exchange: TokenExchangeEndpoint
    saml: SamlIdp | None = None  # SAML 2.0 IdP (reference_idp.saml)
    sink: AuditSink | None = None  # the store behind an AggregatingAuditSink (docs/idp.md)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # docs/idp.md

    @property
    def issuer(self) -> str:
        return self.config.issuer

    @property
    def userinfo_url(self) -> str:
        return self.issuer.rstrip("/") + "/userinfo"

    def audit(
        self, event: str, decision: Literal["issued", "denied"], reason: str = "", **fields: Any
    ) -> None:
        (self.sink or self.store).emit(
            AuditEvent(
                event=event,
                decision=decision,
                reason=reason,
                issuer=self.issuer,
                **fields,
            )
        )

    def flush_audit(self) -> None:
        """Write the summary row of every aggregation window still open (at shutdown:
        otherwise the last window's repeated denials are lost, docs/idp.md)."""
        if isinstance(self.sink, AggregatingAuditSink):
            self.sink.flush()


def build_idp(
    config: IdpConfig,
    store: Store,
    *,
    endpoint_type: type[TokenExchangeEndpoint] = TokenExchangeEndpoint,
) -> Idp:
    """Seed ``store`` from ``config`` and wire the token exchange endpoint (``endpoint_type``:
    a subclass composing the public endpoint steps differently, as tests do)."""
    store.seed(config)
    saml = build_saml(config, store)
    # Repeated unauthenticated denials become one counted row per window (docs/idp.md).
    sink = AggregatingAuditSink(store)
    # The console's policy edits apply to the next exchange; issued claims are kept for it.
    endpoint = recording(endpoint_type, ConsoleStore(store))(
        issuer=config.issuer,
        keys=store,
        clients=store,
        replay=store,
        policy=StoredPolicy(store).hooks(),
        audit=sink,
        directory=store,
        refresh_tokens=store,
        lifetime=config.id_jag_lifetime,
        max_lifetime=config.id_jag_max_lifetime,
        id_token_max_lifetime=config.id_token_lifetime,
        dpop=_dpop_verifier(config, store),
        actors=actor_validator_from_config(config.issuer, config.actors) if config.actors else None,
        subject_validators=saml.subject_validators() if saml else {},
        token_issuers=saml.token_issuers() if saml else {},
    )
    return Idp(config, store, endpoint, saml, sink)


def _dpop_verifier(config: IdpConfig, store: Store) -> DpopVerifier | None:
    """Draft §8.6.1.1: proofs on token exchange, replay in the IdP's store, optional nonces."""
    if not config.dpop.enabled:
        return None
    # The nonce key lives in the database: every worker process accepts the others' nonces.
    nonces = HmacNonceSource(store.server_secret("dpop-nonce")) if config.dpop.nonces else None
    return DpopVerifier(store, nonces=nonces, algs=tuple(config.dpop.algs))


def create_app(
    config: IdpConfig,
    store: Store,
    *,
    endpoint_type: type[TokenExchangeEndpoint] = TokenExchangeEndpoint,
) -> Starlette:
    """The reference IdP as a Starlette application (``endpoint_type``: see :func:`build_idp`)."""
    idp = build_idp(config, store, endpoint_type=endpoint_type)
    metadata = idp_metadata(
        config.issuer,
        authorization_endpoint=True,
        userinfo_endpoint=True,
        revocation_endpoint=True,
        grant_types=GRANT_TYPES,
        scopes=SCOPES,
        claims=CLAIMS,
        dpop_algs=config.dpop.algs if config.dpop.enabled else (),
        subject_token_types=idp.exchange.subject_token_types,
    ).to_json()

    async def authorize(request: Request) -> Response:
        return _authorize(idp, request)

    async def login(request: Request) -> Response:
        return await _login(idp, request)

    calls = BlockingCalls()  # store calls off the event loop

    async def token(request: Request) -> Response:
        return await _token(idp, request, calls)

    async def userinfo(request: Request) -> Response:
        return _userinfo(idp, request)

    async def revoke(request: Request) -> Response:
        return await _revoke(idp, request)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        try:
            yield
        finally:  # a store write: off the event loop, as every store call
            await anyio.to_thread.run_sync(idp.flush_audit)

    doc = json_document(lambda: metadata)
    app = Starlette(
        lifespan=lifespan,
        middleware=[Middleware(HttpEdge), Middleware(AuditAddressMiddleware)],
        routes=[
            Route("/authorize", authorize, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo, methods=["GET", "POST"]),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/jwks", json_document(lambda: store.verification_keys().jwks(), max_age=60)),
            Route(spec.WELL_KNOWN_OAUTH_AS, doc),
            Route(spec.WELL_KNOWN_OPENID, doc),
            *(saml_routes(idp.saml, resume=lambda r, p: _resume(idp, r, p)) if idp.saml else []),
            *admin_routes(idp),  # the console (docs/console.md)
        ],
    )
    app.state.idp = idp
    return app


# -- /authorize and /login --------------------------------------------------------------


def _single_params(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise InvalidRequest(detail=f"repeated {name[:40]}")
        if values[0]:
            out[name] = values[0]
    return out


def _redirect(redirect_uri: str, params: Mapping[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{query}", status_code=302)


def _authorize(idp: Idp, request: Request) -> Response:
    try:
        params = _single_params(request)
    except OAuthError:
        return HTMLResponse(error_page("A parameter is repeated."), status_code=400)
    client = idp.store.client_record(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if client is None or redirect_uri not in client.redirect_uris:
        return HTMLResponse(error_page("Unknown client or redirect URI."), status_code=400)
    state = params.get("state")

    def fail(error: str) -> Response:
        idp.audit("authorize", "denied", error, client_id=client.client_id)
        return _redirect(redirect_uri, {"error": error, "state": state, "iss": idp.issuer})

    if client.status != "active":
        return fail("unauthorized_client")
    if params.get("response_type") != "code":
        return fail("unsupported_response_type")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes or not set(scopes) <= set(SCOPES):
        return fail("invalid_scope")
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != pkce.METHOD or not pkce.is_challenge(challenge):
        return fail("invalid_request")  # RFC 7636 §4.4.1: PKCE S256 required
    max_age = params.get("max_age")
    if max_age is not None and not max_age.isdigit():
        return fail("invalid_request")
    pending = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": params.get("nonce"),
        "scope": format_scope(scopes),
        "code_challenge": challenge,
    }
    now = time.time()
    session = _session(idp, request, now)
    fresh = max_age is None or (session is not None and now - session.auth_time <= int(max_age))
    prompt = params.get("prompt")
    if session is not None and fresh and prompt != "login":
        return _issue_code(idp, pending, session, now)
    if prompt == "none":
        return fail("login_required")  # OIDC Core §3.1.2.6: no UI may be shown
    return _login_form(idp, pending, now)


def _login_form(idp: Idp, pending: dict[str, Any], now: float) -> Response:
    """Park ``pending`` behind the login page (CSRF token in the form and a cookie)."""
    request_id, csrf = idp.store.save_auth_request(pending, now)
    response = HTMLResponse(
        login_page(client_id=pending["client_id"], request_id=request_id, csrf=csrf)
    )
    _set_cookie(idp, response, CSRF_COOKIE, csrf, path="/login", samesite="strict")
    return response


def _resume(idp: Idp, request: Request, pending: dict[str, Any]) -> Response:
    """SAML SSO (reference_idp.saml): complete with a live session, else the login page."""
    now = time.time()
    session = _session(idp, request, now)
    if session is None or idp.saml is None:
        return _login_form(idp, pending, now)
    return idp.saml.complete(pending, session, now)


def _session(idp: Idp, request: Request, now: float) -> Session | None:
    value = request.cookies.get(SESSION_COOKIE)
    return idp.store.session(value, now) if value else None


def _set_cookie(
    idp: Idp,
    response: Response,
    name: str,
    value: str,
    *,
    path: str,
    samesite: Literal["lax", "strict"],
) -> None:
    secure = idp.issuer.startswith("https://")
    response.set_cookie(name, value, path=path, httponly=True, samesite=samesite, secure=secure)


async def _login(idp: Idp, request: Request) -> Response:
    now = time.time()
    try:
        form = parse_form(await read_form_body(request))
    except OAuthError:
        return HTMLResponse(error_page("Malformed login form."), status_code=400)
    parked = idp.store.auth_request(form.get("request_id", ""), now)
    if parked is None:
        return HTMLResponse(error_page("The sign-in request expired."), status_code=400)
    csrf, pending = parked
    sent, cookie = form.get("csrf_token", ""), request.cookies.get(CSRF_COOKIE, "")
    if not (hmac.compare_digest(sent, csrf) and hmac.compare_digest(cookie, csrf)):
        idp.audit("login", "denied", "csrf", client_id=pending["client_id"])
        return HTMLResponse(error_page("The sign-in form is not valid."), status_code=403)
    username = form.get("username", "")
    address = request.client.host if request.client else None

    def refuse(error: str, status: int, retry_after: float | None = None) -> Response:
        page = login_page(
            client_id=pending["client_id"], request_id=form["request_id"], csrf=csrf, error=error
        )
        headers = {} if retry_after is None else {"retry-after": str(ceil(retry_after))}
        return HTMLResponse(page, status_code=status, headers=headers)

    # Throttle first: a locked account or address is refused before the password is checked.
    locked = idp.throttle.check(username, address)
    if locked is not None:
        idp.audit("login", "denied", "throttled", extra={"client": pending["client_id"]})
        return refuse(_TOO_MANY.format(ceil(locked.retry_after)), 429, locked.retry_after)
    if not idp.store.check_login(username, form.get("password", "")):
        idp.audit("login", "denied", "bad_credentials", extra={"client": pending["client_id"]})
        lock = idp.throttle.failure(username, address)
        if lock is not None:  # every lock start is audited (they are few: delays double)
            idp.audit(
                "login",
                "denied",
                "locked",
                subject=username,
                client_id=pending["client_id"],
                extra={"key": lock.key, "failures": lock.failures, "seconds": lock.retry_after},
            )
        return refuse("Wrong username or password.", 401)
    idp.throttle.success(username, address)
    idp.store.drop_auth_request(form["request_id"])
    session = Session(username, int(now), ACR_PASSWORD, AMR_PASSWORD)
    idp.audit("login", "issued", subject=username, client_id=pending["client_id"])
    if idp.saml is not None and idp.saml.is_pending(pending):
        response = idp.saml.complete(pending, session, now)
    else:
        response = _issue_code(idp, pending, session, now)
    session_id = idp.store.new_session(session, now)
    _set_cookie(idp, response, SESSION_COOKIE, session_id, path="/", samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/login")
    return response


def _issue_code(idp: Idp, pending: dict[str, Any], session: Session, now: float) -> Response:
    code = idp.store.new_code(
        {
            **pending,
            "sub": session.sub,
            "auth_time": session.auth_time,
            "acr": session.acr,
            "amr": list(session.amr),
        },
        now,
    )
    return _redirect(
        pending["redirect_uri"], {"code": code, "state": pending["state"], "iss": idp.issuer}
    )


# -- /token -------------------------------------------------------------------------------


async def _token(idp: Idp, request: Request, calls: BlockingCalls) -> Response:
    try:
        headers = lower_headers(request)
        form = TokenExchangeEndpoint.parse(await read_form_body(request))
        return to_starlette(await calls.run(lambda: _token_response(idp, headers, form)))
    except OAuthError as exc:
        return error_response(exc, where="token")


def _token_response(idp: Idp, headers: Mapping[str, str], form: Form) -> HttpResponse:
    """The ``/token`` grants (runs in a worker thread: every grant calls the store)."""
    grant_type = form.get(spec.P_GRANT_TYPE)
    if grant_type == spec.GRANT_TOKEN_EXCHANGE:
        return idp.exchange.exchange(headers, form)
    now = time.time()
    client: AuthenticatedClient | None = None
    try:
        if grant_type is None:
            raise InvalidRequest(detail="grant_type missing")
        if grant_type not in (spec.GRANT_AUTHORIZATION_CODE, spec.GRANT_REFRESH_TOKEN):
            # jwt-bearer included: the IdP never redeems an ID-JAG (draft §8.3).
            raise UnsupportedGrantType(detail=f"grant {grant_type[:60]} not offered")
        client = _authenticate(idp, headers, form, now)
        if grant_type == spec.GRANT_AUTHORIZATION_CODE:
            body = _code_grant(idp, client, form, now)
        else:
            body = _refresh_grant(idp, client, form, now)
    except OAuthError as exc:
        extra = {"detail": exc.detail, "grant_type": grant_type}
        attempted = attempted_client_id(headers, form) if isinstance(exc, InvalidClient) else None
        if attempted is not None:  # who a suspended client's refusal was for
            extra["attempted_client_id"] = attempted
        idp.audit(
            f"token.{grant_type}" if grant_type in GRANT_TYPES else "token",
            "denied",
            exc.error,
            client_id=client.client_id if client else None,
            extra=extra,
        )
        log.info("token rejected: %s (%s)", exc.error, clean_text(exc.detail))
        return exc.to_response()
    return json_response(200, body)


def _authenticate(
    idp: Idp, headers: Mapping[str, str], form: Form, now: float
) -> AuthenticatedClient:
    return authenticate_client(
        headers, form, clients=idp.store, issuer=idp.issuer, replay=idp.store, now=now
    )


def _code_grant(idp: Idp, client: AuthenticatedClient, form: Form, now: float) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with RFC 7636 §4.6 (PKCE S256)."""
    code = form.get(spec.P_CODE)
    verifier = form.get(spec.P_CODE_VERIFIER)
    if code is None or verifier is None:
        raise InvalidRequest(detail="code or code_verifier missing")
    grant = idp.store.use_code(code, now)
    if grant.client_id != client.client_id:
        raise InvalidGrant(detail="code issued to another client")
    if form.get(spec.P_REDIRECT_URI) != grant.redirect_uri:
        raise InvalidGrant(detail="redirect_uri mismatch")
    if not pkce.verifier_matches(verifier, grant.code_challenge):
        raise InvalidGrant(detail="PKCE verifier mismatch")
    family = token_hash(code)  # a reused code revokes this family
    return _tokens(idp, client, grant.session, grant.scope, grant.nonce, family, now)


def _refresh_grant(idp: Idp, client: AuthenticatedClient, form: Form, now: float) -> dict[str, Any]:
    """RFC 6749 §6 with rotation: the old token stops working, its reuse revokes the family."""
    token = form.get(spec.P_REFRESH_TOKEN)
    if token is None:
        raise InvalidRequest(detail="refresh_token missing")
    asked = parse_scope(form.get(spec.P_SCOPE)) if spec.P_SCOPE in form else None
    # The same check as a refresh-token subject of a token exchange (draft-03 §4.3.3).
    validate_refresh_token(
        idp.store, token, client_id=client.client_id, now=now, error=InvalidGrant
    )
    rotated = idp.store.rotate_refresh_token(
        token, client.client_id, idp.config.refresh_token_lifetime, now, scope=asked
    )
    granted = rotated.scope if asked is None else format_scope(asked)
    if idp.store.find_subject(rotated.session.sub) is None:
        raise InvalidGrant(detail="subject disabled")
    return _tokens(idp, client, rotated.session, granted, None, rotated.token, now, rotated=True)


def _tokens(
    idp: Idp,
    client: AuthenticatedClient,
    session: Session,
    scope: str,
    nonce: str | None,
    refresh: str,
    now: float,
    *,
    rotated: bool = False,
) -> dict[str, Any]:
    """ID token, access token and refresh token. ``refresh`` is the rotated refresh token
    when ``rotated``, else the family of the one to issue."""
    profile = idp.store.find_subject(session.sub)
    if profile is None:
        raise InvalidGrant(detail="subject disabled")
    issued = int(now)
    key = idp.store.current
    id_token = IdTokenClaims(
        iss=idp.issuer,
        sub=session.sub,
        aud=client.client_id,
        azp=client.client_id,
        exp=issued + idp.config.id_token_lifetime,
        iat=issued,
        auth_time=session.auth_time,
        nonce=nonce,
        acr=session.acr,
        amr=list(session.amr),
        email=profile.email if "email" in scope.split() else None,
    )
    access = AccessTokenClaims.model_validate(
        {
            "iss": idp.issuer,
            "sub": session.sub,
            "aud": idp.userinfo_url,
            "client_id": client.client_id,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + idp.config.access_token_lifetime,
            "scope": scope,
            "auth_time": session.auth_time,
        }
    )
    refresh_token = refresh
    if not rotated:
        refresh_token = idp.store.issue_refresh_token(
            client_id=client.client_id,
            sub=session.sub,
            scope=scope,
            auth_time=session.auth_time,
            acr=session.acr,
            amr=session.amr,
            lifetime=idp.config.refresh_token_lifetime,
            now=now,
            family=refresh,
        )
    idp.audit(
        "token.oidc",
        "issued",
        subject=session.sub,
        client_id=client.client_id,
        audience=client.client_id,
        granted_scope=scope,
        jti=access.jti,
    )
    return {
        "access_token": issue_access_token(access, key),
        "token_type": spec.TOKEN_TYPE_BEARER,
        "expires_in": idp.config.access_token_lifetime,
        "scope": scope,
        "id_token": issue_id_token(id_token, key),
        "refresh_token": refresh_token,
    }


# -- /userinfo and /revoke ------------------------------------------------------------------


def _userinfo(idp: Idp, request: Request) -> Response:
    try:
        header = lower_headers(request).get(spec.H_AUTHORIZATION, "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("An access token is required.", detail="no bearer token")
        claims = verify_access_token(
            token.strip(),
            keys=idp.store.verification_keys(),
            issuer=idp.issuer,
            resource=idp.userinfo_url,
            max_lifetime=idp.config.access_token_lifetime,
        ).claims
        profile = idp.store.find_subject(claims.sub)
        if profile is None:
            raise InvalidToken(detail="subject disabled")
    except OAuthError as exc:
        log.info("userinfo rejected: %s (%s)", exc.error, clean_text(exc.detail))
        return JSONResponse(
            exc.body(),
            status_code=exc.status,  # 400 for invalid_request (RFC 6750 §3.1)
            headers={
                "www-authenticate": f'Bearer error="{exc.error}"',
                "cache-control": "no-store",
            },
        )
    info: dict[str, Any] = {"sub": claims.sub}
    if "email" in claims.scopes and profile.email:
        info.update(email=profile.email, email_verified=True)
    if "profile" in claims.scopes:
        info["groups"] = sorted(profile.groups)
    return JSONResponse(info, headers={"cache-control": "no-store"})


async def _revoke(idp: Idp, request: Request) -> Response:
    """RFC 7009: revoke a refresh token of the authenticated client; unknown tokens get 200."""
    now = time.time()
    try:
        headers = lower_headers(request)
        form = parse_form(await read_form_body(request))
        client = _authenticate(idp, headers, form, now)
        token = form.get("token")
        if token is None:
            raise InvalidRequest(detail="token missing")
    except OAuthError as exc:
        return error_response(exc, where="revoke")
    revoked = idp.store.revoke_refresh_token(token, client.client_id, now)
    idp.audit(
        "revoke",
        "issued" if revoked else "denied",
        "" if revoked else "not_found",
        client_id=client.client_id,
    )
    return Response(status_code=200, headers={"cache-control": "no-store"})
