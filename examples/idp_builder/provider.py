"""The provider as it was before XAA: a tiny OpenID Connect provider (Starlette).

Its own users (scrypt password hashes), clients (each with redirect URIs and how it
authenticates), signing key (a key file), authorization codes and refresh tokens.
It signs ID tokens with ``xaa.issue_id_token``; ``issuance.py`` adds the token exchange.
Demo only: everything but the key lives in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from xaa import (
    AuthenticatedClient,
    IdTokenClaims,
    InvalidGrant,
    InvalidRequest,
    KeyRing,
    RegisteredClient,
    issue_id_token,
    pkce,
    spec,
)
from xaa.idp import RefreshGrant, SubjectProfile, hash_refresh_token

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
CODE_LIFETIME = 60
ID_TOKEN_LIFETIME = 600
REFRESH_LIFETIME = 8 * 3600


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``salt$hash`` (scrypt, RFC 7914)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return f"{salt.hex()}${digest.hex()}"


@dataclass(frozen=True)
class User:
    """One End-User of the provider."""

    sub: str
    username: str
    password_hash: str = field(repr=False)
    email: str
    groups: frozenset[str] = frozenset()

    def password_matches(self, password: str) -> bool:
        salt, _, _ = self.password_hash.partition("$")
        return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), self.password_hash)


@dataclass(frozen=True)
class Client:
    """A relying party: where its codes may go and how it authenticates (xaa's record)."""

    registration: RegisteredClient
    redirect_uris: frozenset[str]


class Directory:
    """Users and clients; also xaa's ``SubjectDirectory`` and ``ClientStore``."""

    def __init__(self, users: list[User], clients: list[Client]) -> None:
        self.users = {u.username: u for u in users}
        self._by_sub = {u.sub: u for u in users}
        self.clients = {c.registration.client_id: c for c in clients}

    def login(self, username: str, password: str) -> User | None:
        """The user when the password is right."""
        user = self.users.get(username)
        return user if user is not None and user.password_matches(password) else None

    def find_subject(self, sub: str) -> SubjectProfile | None:
        """``xaa.idp.SubjectDirectory``: the user's current profile (``None``: disabled)."""
        user = self._by_sub.get(sub)
        return None if user is None else SubjectProfile(email=user.email, groups=user.groups)

    def get_client(self, client_id: str) -> RegisteredClient | None:
        """``xaa.ClientStore``: how ``client_id`` authenticates."""
        client = self.clients.get(client_id)
        return None if client is None else client.registration

    def suspend(self, client_id: str) -> None:
        """The kill switch: the client's next token request is ``invalid_client``."""
        client = self.clients[client_id]
        registration = replace(client.registration, active=False)
        self.clients[client_id] = replace(client, registration=registration)


class Grants:
    """Pending sign-ins, authorization codes and refresh tokens (hashed), in memory;
    also xaa's ``RefreshTokenStore``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, dict[str, str]] = {}
        self._codes: dict[str, tuple[float, dict[str, Any]]] = {}
        self._refresh: dict[str, RefreshGrant] = {}

    def pending(self, params: dict[str, str]) -> str:
        request_id = secrets.token_urlsafe(16)
        with self._lock:
            self._requests[request_id] = params
        return request_id

    def take_pending(self, request_id: str) -> dict[str, str] | None:
        with self._lock:
            return self._requests.pop(request_id, None)

    def new_code(self, data: dict[str, Any], now: float) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[hashlib.sha256(code.encode()).hexdigest()] = (now + CODE_LIFETIME, data)
        return code

    def use_code(self, code: str, now: float) -> dict[str, Any] | None:
        """The code's data, once (RFC 6749 §4.1.2)."""
        with self._lock:
            found = self._codes.pop(hashlib.sha256(code.encode()).hexdigest(), None)
        return found[1] if found is not None and found[0] > now else None

    def new_refresh_token(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[hash_refresh_token(token)] = grant
        return token

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        """``xaa.idp.RefreshTokenStore``: the grant behind ``token``, revoked or not."""
        with self._lock:
            return self._refresh.get(hash_refresh_token(token))

    def revoke_refresh_family(self, token: str, now: float) -> None:
        """``xaa.idp.RefreshTokenStore``: revoke the token's rotation family (reuse seen).

        This provider never rotates refresh tokens, so a family is the token alone.
        """
        key = hash_refresh_token(token)
        with self._lock:
            grant = self._refresh.get(key)
            if grant is not None:
                self._refresh[key] = replace(grant, revoked=True)

    def revoke(self, token: str, client_id: str) -> None:
        """RFC 7009 §2.1: only the client the token was issued to may revoke it."""
        key = hash_refresh_token(token)
        with self._lock:
            grant = self._refresh.get(key)
            if grant is not None and grant.client_id == client_id:
                self._refresh[key] = replace(grant, revoked=True)


@dataclass
class Provider:
    """The OpenID Connect provider's endpoints (authorization code flow with PKCE)."""

    issuer: str
    directory: Directory
    grants: Grants
    keys: KeyRing

    # -- /authorize and /login ------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """OIDC Core §3.1.2: check the client and redirect URI, then show the login form."""
        params = dict(request.query_params)
        client = self.directory.clients.get(params.get("client_id", ""))
        if client is None or params.get("redirect_uri") not in client.redirect_uris:
            return HTMLResponse("unknown client or redirect URI", status_code=400)
        if params.get("response_type") != "code" or params.get("code_challenge_method") != "S256":
            return self._redirect(params, {"error": "invalid_request"})
        if not params.get("code_challenge"):
            return self._redirect(params, {"error": "invalid_request"})
        return _login_page(self.grants.pending(params))

    async def login(self, request: Request) -> Response:
        """The login form's POST: a code for the client on success."""
        form = await request.form()
        params = self.grants.take_pending(str(form.get("request_id", "")))
        if params is None:
            return HTMLResponse("this sign-in expired; start again", status_code=400)
        user = self.directory.login(str(form.get("username", "")), str(form.get("password", "")))
        if user is None:
            return _login_page(self.grants.pending(params), error="wrong user name or password")
        now = time.time()
        code = self.grants.new_code({**params, "sub": user.sub, "auth_time": int(now)}, now)
        return self._redirect(params, {"code": code})

    def _redirect(self, params: Mapping[str, str], answer: dict[str, str]) -> Response:
        query = {**answer, "iss": self.issuer}  # RFC 9207
        if "state" in params:
            query["state"] = params["state"]
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(query)}", status_code=302)

    # -- the authorization_code grant at /token -------------------------------------------

    def code_grant(
        self, client: AuthenticatedClient, form: Mapping[str, str], now: float
    ) -> dict[str, Any]:
        """RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): an ID token and a refresh token."""
        code, verifier = form.get(spec.P_CODE), form.get(spec.P_CODE_VERIFIER)
        if code is None or verifier is None:
            raise InvalidRequest(detail="code or code_verifier missing")
        data = self.grants.use_code(code, now)
        if data is None:
            raise InvalidGrant(detail="unknown, used or expired code")
        if data["client_id"] != client.client_id:
            raise InvalidGrant(detail="code issued to another client")
        if form.get(spec.P_REDIRECT_URI) != data["redirect_uri"]:
            raise InvalidGrant(detail="redirect_uri mismatch")
        if not pkce.verifier_matches(verifier, data["code_challenge"]):
            raise InvalidGrant(detail="PKCE verifier mismatch")
        profile = self.directory.find_subject(data["sub"])
        if profile is None:
            raise InvalidGrant(detail="user disabled")
        scopes = set(data.get("scope", "").split())
        claims = IdTokenClaims(
            iss=self.issuer,
            sub=data["sub"],
            aud=client.client_id,
            azp=client.client_id,
            iat=int(now),
            exp=int(now) + ID_TOKEN_LIFETIME,
            auth_time=data["auth_time"],
            nonce=data.get("nonce"),
            amr=["pwd"],
            email=profile.email if "email" in scopes else None,
        )
        body: dict[str, Any] = {
            "id_token": issue_id_token(claims, self.keys.current),
            "token_type": spec.TOKEN_TYPE_BEARER,
            "expires_in": ID_TOKEN_LIFETIME,
            "scope": " ".join(sorted(scopes)),
        }
        if "offline_access" in scopes:
            grant = RefreshGrant(
                client.client_id,
                data["sub"],
                now + REFRESH_LIFETIME,
                auth_time=data["auth_time"],
                amr=("pwd",),
            )
            body["refresh_token"] = self.grants.new_refresh_token(grant)
        return body


def _login_page(request_id: str, error: str = "") -> HTMLResponse:
    message = f"<p>{html.escape(error)}</p>" if error else ""
    return HTMLResponse(
        "<!doctype html><title>Sign in</title>"
        f"{message}<form method=post action=/login>"
        f'<input type="hidden" name="request_id" value="{html.escape(request_id)}">'
        '<label>User <input type="text" name="username"></label>'
        '<label>Password <input type="password" name="password"></label>'
        "<button>Sign in</button></form>",
        headers={"cache-control": "no-store"},
    )
