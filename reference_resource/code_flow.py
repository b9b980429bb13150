"""The chat AS's own OAuth flow: authorization code + PKCE with login and consent pages,
refresh tokens (rotated on use) and RFC 7009 revocation.

This is what a broker falls back to when an app does not accept ID-JAGs
(``--legacy``), and what the ``authorization_endpoint`` of the XAA mode serves.
Redirect URIs: ``http`` loopback URIs on any port (RFC 8252 §7.3).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Mapping
from math import ceil
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response

from xaa import (
    AccessTokenClaims,
    AuditEvent,
    AuditSink,
    ClientStore,
    Form,
    HttpResponse,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    JwkSet,
    LoginLock,
    LoginThrottle,
    OAuthError,
    ReplayStore,
    SigningKey,
    UnsupportedGrantType,
    authenticate_client,
    format_scope,
    issue_access_token,
    json_response,
    parse_scope,
    pkce,
    spec,
    verify_access_token,
)
from xaa.stores import MemoryReplayStore

from .store import ChatStore

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: an ``http`` loopback redirect URI, any port, no fragment."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK and not parts.fragment


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        headers={"cache-control": "no-store", "x-frame-options": "DENY"},
    )


class CodeFlow:
    """Authorization code + PKCE, refresh and revocation for the chat AS."""

    def __init__(
        self,
        store: ChatStore,
        *,
        issuer: str,
        resource: str,
        key: SigningKey,
        clients: ClientStore,
        client_ids: frozenset[str],
        scopes: frozenset[str],
        access_token_lifetime: int,
        refresh_token_lifetime: int,
        throttle: LoginThrottle | None = None,
        audit: AuditSink | None = None,
        replay: ReplayStore | None = None,
    ) -> None:
        self.store = store
        self.issuer = issuer
        self.resource = resource
        self.key = key
        self.clients = clients
        self.client_ids = client_ids
        self.scopes = scopes
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        # Client assertion jti (private_key_jwt); shared by every worker when given.
        self._assertions: ReplayStore = replay or MemoryReplayStore()
        self.throttle = throttle or LoginThrottle()
        self.audit = audit

    # -- pages ------------------------------------------------------------------------------

    def authorize(self, query: Mapping[str, str]) -> Response:
        """``GET /authorize``: check the request, then show the login page."""
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in self.client_ids or not loopback_redirect(redirect_uri):
            return _page("Invalid request", "<p>Unknown client or redirect URI.</p>")
        state = query.get("state")
        if query.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", state=state)
        challenge = query.get("code_challenge", "")
        if query.get("code_challenge_method") != pkce.METHOD or not pkce.is_challenge(challenge):
            return _redirect(redirect_uri, error="invalid_request", state=state)
        try:
            scopes = parse_scope(query.get("scope") or " ".join(sorted(self.scopes)))
        except OAuthError:
            return _redirect(redirect_uri, error="invalid_scope", state=state)
        if not scopes or not scopes <= self.scopes:
            return _redirect(redirect_uri, error="invalid_scope", state=state)
        pending = self.store.put_pending(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": format_scope(scopes),
                "state": state or "",
                "code_challenge": challenge,
            }
        )
        return self._login_page(pending)

    def _login_page(self, pending: str, error: str = "") -> HTMLResponse:
        note = f"<p style='color:#b00'>{html.escape(error)}</p>" if error else ""
        return _page(
            "Sign in to Chat",
            f"{note}<form method='post' action='/login'>"
            f"<input type='hidden' name='pending' value='{html.escape(pending)}'>"
            "<p><label>Username <input name='username' autocomplete='username'></label></p>"
            "<p><label>Password <input name='password' type='password'></label></p>"
            "<p><button type='submit'>Sign in</button></p></form>",
        )

    def login(self, form: Mapping[str, str], address: str | None = None) -> Response:
        """``POST /login``: throttle, check the password, then show the consent page.

        ``address`` is the client's network address (per-address throttling)."""
        pending_id = form.get("pending", "")
        found = self.store.get_pending(pending_id)
        if found is None:
            return _page("Expired", "<p>This sign-in request expired. Start again.</p>")
        params = found[0]
        username = form.get("username", "")
        locked = self.throttle.check(username, address)
        if locked is not None:  # refused before the password is checked
            self._audit("throttled", params["client_id"])
            wait = ceil(locked.retry_after)
            page = self._login_page(pending_id, f"Too many failed sign-ins. Try again in {wait} s.")
            page.status_code = 429
            page.headers["retry-after"] = str(wait)
            return page
        account = self.store.login(username, form.get("password", ""))
        if account is None:
            self._audit("bad_credentials", params["client_id"])
            lock = self.throttle.failure(username, address)
            if lock is not None:
                self._audit("locked", params["client_id"], username=username, lock=lock)
            page = self._login_page(pending_id, "Wrong username or password.")
            page.status_code = 401
            return page
        self.throttle.success(username, address)
        self.store.set_pending_account(pending_id, account.id)
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params["scope"].split())
        return _page(
            "Allow access?",
            f"<p><b>{html.escape(params['client_id'])}</b> wants to act as "
            f"<b>{html.escape(account.email or account.id)}</b> in Chat:</p><ul>{scopes}</ul>"
            "<form method='post' action='/consent'>"
            f"<input type='hidden' name='pending' value='{html.escape(pending_id)}'>"
            "<button name='decision' value='allow'>Allow</button> "
            "<button name='decision' value='deny'>Deny</button></form>",
        )

    def _audit(
        self,
        reason: str,
        client: str,
        *,
        username: str | None = None,
        lock: LoginLock | None = None,
    ) -> None:
        """A refused login. Lock starts name the account and are never aggregated (they
        carry ``client_id``); the others aggregate per client address (docs/resource.md)."""
        if self.audit is None:
            return
        extra: dict[str, Any] = {"client": client}
        if lock is not None:
            extra.update(key=lock.key, failures=lock.failures, seconds=lock.retry_after)
        self.audit.emit(
            AuditEvent(
                event="login",
                decision="denied",
                reason=reason,
                issuer=self.issuer,
                subject=username,
                client_id=client if lock is not None else None,
                extra=extra,
            )
        )

    def consent(self, form: Mapping[str, str]) -> Response:
        """``POST /consent``: redirect back with a code, or with ``access_denied``."""
        pending_id = form.get("pending", "")
        found = self.store.get_pending(pending_id)
        if found is None or found[1] is None:
            return _page("Expired", "<p>This sign-in request expired. Start again.</p>")
        params, account_id = found
        self.store.drop_pending(pending_id)
        state = params["state"] or None
        if form.get("decision") != "allow":
            return _redirect(params["redirect_uri"], error="access_denied", state=state)
        code = self.store.put_code({**params, "account_id": account_id})
        return _redirect(params["redirect_uri"], code=code, state=state)

    # -- token and revocation endpoints -----------------------------------------------------

    def token(self, headers: Mapping[str, str], form: Form, now: float) -> HttpResponse:
        """``authorization_code`` (RFC 6749 §4.1.3, RFC 7636 §4.6) and ``refresh_token``."""
        try:
            client = authenticate_client(
                headers,
                form,
                clients=self.clients,
                issuer=self.issuer,
                replay=self._assertions,
                now=now,
                lenient_basic=True,
            )
            grant = form.get(spec.P_GRANT_TYPE)
            if grant == spec.GRANT_AUTHORIZATION_CODE:
                account_id, scope = self._redeem_code(form, client.client_id)
            elif grant == spec.GRANT_REFRESH_TOKEN:
                account_id, scope = self._refresh(form, client.client_id)
            else:
                raise UnsupportedGrantType(detail="grant not served")
        except OAuthError as exc:
            return exc.to_response()
        return json_response(200, self._tokens(client.client_id, account_id, scope, now))

    def _redeem_code(self, form: Form, client_id: str) -> tuple[str, str]:
        code, verifier = form.get(spec.P_CODE), form.get(spec.P_CODE_VERIFIER)
        if code is None or verifier is None:
            raise InvalidRequest(detail="code or code_verifier missing")
        data = self.store.take_code(code)
        if data is None or data["client_id"] != client_id:
            raise InvalidGrant(detail="code unknown, used, expired or another client's")
        if form.get(spec.P_REDIRECT_URI) != data["redirect_uri"]:
            raise InvalidGrant(detail="redirect_uri mismatch")
        if not pkce.verifier_matches(verifier, data["code_challenge"]):
            raise InvalidGrant(detail="PKCE verifier mismatch")
        return str(data["account_id"]), str(data["scope"])

    def _refresh(self, form: Form, client_id: str) -> tuple[str, str]:
        token = form.get(spec.P_REFRESH_TOKEN)
        if token is None:
            raise InvalidRequest(detail="refresh_token missing")
        found = self.store.take_refresh(token, client_id)
        if found is None:
            raise InvalidGrant(detail="refresh token unknown, expired or another client's")
        account_id, granted = found
        requested = parse_scope(form.get(spec.P_SCOPE))
        if requested - parse_scope(granted):
            raise InvalidScope(detail="refresh asks beyond the grant")
        return account_id, format_scope(requested) if requested else granted

    def _tokens(self, client_id: str, account_id: str, scope: str, now: float) -> dict[str, Any]:
        issued = int(now)
        claims = AccessTokenClaims(
            iss=self.issuer,
            sub=account_id,
            aud=self.resource,
            client_id=client_id,
            jti=secrets.token_urlsafe(16),
            iat=issued,
            exp=issued + self.access_token_lifetime,
            scope=scope,
        )
        refresh = self.store.put_refresh(client_id, account_id, scope, self.refresh_token_lifetime)
        return {
            "access_token": issue_access_token(claims, self.key),
            "token_type": spec.TOKEN_TYPE_BEARER,
            "expires_in": self.access_token_lifetime,
            "scope": scope,
            "refresh_token": refresh,
        }

    def revoke(self, headers: Mapping[str, str], form: Form, now: float) -> HttpResponse:
        """RFC 7009 §2: revoke a refresh or access token of the authenticated client."""
        try:
            client = authenticate_client(
                headers,
                form,
                clients=self.clients,
                issuer=self.issuer,
                replay=self._assertions,
                now=now,
                lenient_basic=True,
            )
            token = form.get("token")
            if token is None:
                raise InvalidRequest(detail="token missing")
        except OAuthError as exc:
            return exc.to_response()
        self.store.revoke_refresh(token, client.client_id)
        try:
            verified = verify_access_token(
                token,
                keys=JwkSet([self.key.verification_key()]),
                issuer=self.issuer,
                resource=self.resource,
                now=now,
            )
        except OAuthError:
            verified = None
        if verified is not None and verified.claims.client_id == client.client_id:
            self.store.revoke_access(verified.claims.jti, verified.claims.exp)
        return HttpResponse(200, {"cache-control": "no-store"}, b"")  # §2.2: always 200


def _redirect(uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if urlsplit(uri).query else "?"
    return RedirectResponse(f"{uri}{sep}{query}", status_code=303)
