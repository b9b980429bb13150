"""People sign in to the broker's pages at the IdP: OIDC authorization code + PKCE.

``/login`` keeps ``state``, ``nonce`` and the PKCE verifier in the shared store
(single use, 10 minutes), puts ``state`` in a cookie of the browser (against
login CSRF, RFC 6749 §10.12) and redirects to the IdP (RFC 6749 §4.1.1, RFC 7636
§4.3, OIDC Core §3.1.2.1). ``/login/callback`` takes the state once, checks
``iss`` (RFC 9207 §2.4), redeems the code with the verifier, verifies the ID
token (signature by the IdP's JWKS, ``iss``, ``aud``, ``azp``, expiry, ``nonce``)
and signs the person in as its ``sub``. The ID and refresh tokens are vaulted:
they are the subject token of the XAA token exchange (draft §4.3).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from xaa import (
    JwkSet,
    OAuthError,
    ProtocolViolation,
    UnusableKey,
    encode_form,
    pkce,
    spec,
    verify_id_token,
)
from xaa.adapters.httpx_client import send_async
from xaa.broker import SignInRejected
from xaa.client import (
    IdentitySession,
    MetadataCache,
    XaaClientError,
    discover_authorization_server,
    json_body,
    require_same_origin,
    run_async,
)
from xaa.client import Request as HttpRequest

if TYPE_CHECKING:
    from xaa import AuthorizationServerMetadata

    from .app import Service

_METADATA = MetadataCache()
LOGIN_COOKIE = "xaa_broker_login"  # binds a sign-in's state to the browser that started it
MAX_NEXT = 200


def _next(value: str | None) -> str:
    """Only a local path (never ``//host``): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and len(value) < MAX_NEXT:
        return value
    return "/"


async def _metadata(service: Service) -> AuthorizationServerMetadata:
    flow = discover_authorization_server(
        service.config.idp.issuer, _METADATA, time.time(), require=None
    )
    return await run_async(flow, lambda r: send_async(service.http, r))


async def start(request: Request, service: Service) -> Response:
    """Redirect to the IdP's authorization endpoint."""
    meta = await _metadata(service)
    if meta.authorization_endpoint is None:
        raise ProtocolViolation("as-metadata", "the IdP has no authorization endpoint")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = pkce.new_pair()
    target = _next(request.query_params.get("next"))
    service.state.start_login(state, nonce, verifier, target, time.time())
    params = {
        "response_type": "code",
        "client_id": service.config.idp.client_id,
        "redirect_uri": service.config.base + "/login/callback",
        "scope": "openid offline_access",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": pkce.METHOD,
    }
    response = RedirectResponse(f"{meta.authorization_endpoint}?{urlencode(params)}", 303)
    response.set_cookie(
        LOGIN_COOKIE,
        state,
        max_age=600,
        httponly=True,
        secure=service.config.secure_cookies,
        samesite="lax",
        path="/login",
    )
    return response


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A finished sign-in: who, their IdP session (vaulted for XAA) and where to go next."""

    person: str
    session: IdentitySession
    target: str


async def finish(request: Request, service: Service) -> SignedIn:
    """The callback of :func:`start`; raises :class:`~xaa.broker.SignInRejected` (a short
    message for the person) when any check fails."""
    params = request.query_params
    for name in ("state", "code", "iss", "error"):
        if len(params.getlist(name)) > 1:
            raise SignInRejected("The sign-in response was malformed.")
    state = params.get("state")
    now = time.time()
    browser = request.cookies.get(LOGIN_COOKIE, "")
    if not state or not secrets.compare_digest(browser.encode(), state.encode()):
        raise SignInRejected(
            "This sign-in was started in another browser. Start again."
        )  # login CSRF
    kept = service.state.take_login(state, now)
    if kept is None:
        raise SignInRejected("This sign-in expired or was already used. Start again.")
    if params.get("error"):
        raise SignInRejected("The sign-in was cancelled.")
    issuer = service.config.idp.issuer
    if params.get("iss") is not None and params.get("iss") != issuer:
        raise SignInRejected("The sign-in response came from another issuer.")
    code = params.get("code")
    if not code:
        raise SignInRejected("The sign-in response has no code.")
    try:
        meta = await _metadata(service)
        assert meta.token_endpoint is not None
        require_same_origin(meta.token_endpoint, issuer)
        form: dict[str, str | list[str]] = {
            spec.P_GRANT_TYPE: spec.GRANT_AUTHORIZATION_CODE,
            spec.P_CODE: code,
            spec.P_CODE_VERIFIER: kept.verifier,
            spec.P_REDIRECT_URI: service.config.base + "/login/callback",
        }
        headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
        service.idp_credentials.apply(form, headers, issuer=issuer, now=now)
        answer = await send_async(
            service.http, HttpRequest("POST", meta.token_endpoint, headers, encode_form(form))
        )
        if answer.status != 200:
            raise SignInRejected("The IdP refused the sign-in.")
        body = json_body(answer, "token-response")
        id_token, refresh = body.get("id_token"), body.get("refresh_token")
        if meta.jwks_uri is None:
            raise SignInRejected("The IdP publishes no keys.")
        require_same_origin(meta.jwks_uri, issuer)
        jwks = await send_async(
            service.http, HttpRequest("GET", meta.jwks_uri, {"accept": spec.MEDIA_TYPE_JSON})
        )
        keys = JwkSet.from_jwks(json_body(jwks, "jwks"))
        claims = verify_id_token(
            id_token, keys=keys, issuer=issuer, client_id=service.config.idp.client_id, now=now
        ).claims
    except (
        OAuthError,
        ProtocolViolation,
        XaaClientError,
        UnusableKey,
        httpx.HTTPError,
        ValueError,
    ) as exc:
        raise SignInRejected(f"The sign-in could not be verified ({type(exc).__name__}).") from exc
    if claims.nonce is None or not secrets.compare_digest(claims.nonce, kept.nonce):
        raise SignInRejected("The sign-in response does not match this browser.")
    session = IdentitySession(
        id_token=id_token, refresh_token=refresh if isinstance(refresh, str) else None
    )
    return SignedIn(claims.sub, session, kept.target)
