"""Fake servers for the broker tests: an XAA world (IdP + chat AS) and a legacy OAuth AS.

One Starlette app serves three issuers on one origin: ``/idp`` (issues ID-JAGs,
denies ``chat.admin`` by policy), ``/chat`` (advertises the id-jag profile AND an
authorization endpoint, to prove the broker never falls back) and ``/legacy``
(no XAA: HTML login and consent pages, code + PKCE S256, refresh with
downscoping and rotation, client credentials, RFC 7009 revocation).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from xaa import IdJagClaims, IdTokenClaims, SigningKey, issue_id_jag, issue_id_token, spec
from xaa._forms import basic_credentials, parse_form, parse_scope
from xaa.adapters.broker import Broker, Keyring
from xaa.broker import AppConfig, Strategy
from xaa.client import ClientCredentials, IdentitySession, IdpConfig

BROKER_SECRET = "broker-secret"
BASE = "http://127.0.0.1:9999"
CALLBACK = "http://127.0.0.1:9998/callback"
USERS = {"alice": "alice-pw", "bob": "bob-pw"}
LEGACY_GRANTABLE = frozenset({"chat.read", "chat.write", "chat.history"})


@dataclass
class AsState:
    """What the fake servers saw and hold."""

    base: str
    honour_downscope: bool = True
    rotate_refresh: bool = True
    advertise_revocation: bool = True
    advertise_iss: bool = False
    key: SigningKey = field(default_factory=SigningKey.generate)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)  # grant_type of every token request
    refresh_scopes: list[str] = field(default_factory=list)
    idp_requests: int = 0
    legacy_authorize_hits: int = 0
    chat_authorize_hits: int = 0

    @property
    def idp(self) -> str:
        return self.base + "/idp"

    @property
    def chat(self) -> str:
        return self.base + "/chat"

    @property
    def legacy(self) -> str:
        return self.base + "/legacy"


@dataclass
class World:
    """A broker wired to the fake servers, with its database and keys."""

    state: AsState
    broker: Broker
    db: Path
    keyring: Keyring


def _error(code: str, description: str = "denied", status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": code, "error_description": description},
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def _client(request: Request, expected: str) -> bool:
    header = request.headers.get("authorization")
    if not header:
        return False
    client_id, secret = basic_credentials(header)
    return client_id == expected and secret == BROKER_SECRET


def _token(state: AsState, user: str, scopes: frozenset[str], issuer: str) -> dict[str, Any]:
    access = "at-" + secrets.token_urlsafe(24)
    state.access_tokens[access] = {"user": user, "scopes": scopes, "issuer": issuer}
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": " ".join(sorted(scopes)),
    }


def build_app(state: AsState) -> Starlette:
    """The fake servers as one ASGI app."""

    def metadata(issuer: str, dynamic: Any = dict, **extra: Any) -> Route:
        async def handler(request: Request) -> Response:
            body = {"issuer": issuer, "token_endpoint": issuer + "/token", **extra, **dynamic()}
            return JSONResponse(body)

        path = spec.WELL_KNOWN_OAUTH_AS + issuer[len(state.base) :]
        return Route(path, handler)

    async def idp_token(request: Request) -> Response:
        state.idp_requests += 1
        form = parse_form(await request.body())
        if not _client(request, "broker"):
            return _error("invalid_client", status=401)
        scopes = parse_scope(form.get("scope"))
        if "chat.admin" in scopes:
            return _error("access_denied", "chat.admin is not allowed for agents")
        subject_claims = IdTokenClaims.model_validate(
            json.loads(base64.urlsafe_b64decode(form["subject_token"].split(".")[1] + "=="))
        )
        claims = IdJagClaims.new(
            issuer=state.idp,
            subject=subject_claims.sub,
            audience=form["audience"],
            client_id="broker-at-chat",
            resource=form.get("resource"),
            scope=" ".join(sorted(scopes)) or None,
        )
        body: dict[str, Any] = {
            "access_token": issue_id_jag(claims, state.key),
            "issued_token_type": spec.TOKEN_TYPE_ID_JAG,
            "token_type": "N_A",
            "expires_in": 300,
        }
        if scopes:
            body["scope"] = " ".join(sorted(scopes))
        return JSONResponse(body, headers={"cache-control": "no-store"})

    async def chat_token(request: Request) -> Response:
        form = parse_form(await request.body())
        state.grants.append(form.get("grant_type", ""))
        if not _client(request, "broker-at-chat"):
            return _error("invalid_client", status=401)
        if form.get("grant_type") != spec.GRANT_JWT_BEARER:
            return _error("unsupported_grant_type")
        payload = form["assertion"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        scopes = parse_scope(form.get("scope"))
        if "chat.secret" in scopes:
            return _error("access_denied", "chat.secret needs an admin")
        return JSONResponse(_token(state, claims["sub"], scopes, state.chat))

    async def chat_authorize(request: Request) -> Response:
        state.chat_authorize_hits += 1
        return HTMLResponse("never used by the broker")

    async def legacy_authorize(request: Request) -> Response:
        state.legacy_authorize_hits += 1
        q = request.query_params
        if (
            q.get("client_id") != "broker-at-legacy"
            or q.get("response_type") != "code"
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or not q.get("state")
            or q.get("resource") != state.legacy + "/api"
        ):
            return HTMLResponse("bad authorization request", status_code=400)
        txn = secrets.token_urlsafe(12)
        state.transactions[txn] = dict(q)
        user = state.sessions.get(request.cookies.get("legacy_session", ""))
        if user is None:
            return HTMLResponse(
                "<!doctype html><title>Legacy chat: sign in</title>"
                f"<form method=post action='{state.legacy}/login'>"
                f"<input type=hidden name=txn value='{txn}'>"
                "<label>Username <input name=username id=username></label>"
                "<label>Password <input name=password id=password type=password></label>"
                "<button id=signin type=submit>Sign in</button></form>"
            )
        return RedirectResponse(f"{state.legacy}/consent?txn={txn}", status_code=303)

    async def legacy_login(request: Request) -> Response:
        form = parse_form(await request.body())
        user = form.get("username", "")
        if USERS.get(user) != form.get("password") or form.get("txn") not in state.transactions:
            return HTMLResponse("sign-in failed", status_code=401)
        session = secrets.token_urlsafe(12)
        state.sessions[session] = user
        response = RedirectResponse(f"{state.legacy}/consent?txn={form['txn']}", status_code=303)
        response.set_cookie("legacy_session", session, httponly=True)
        return response

    async def legacy_consent_page(request: Request) -> Response:
        txn = request.query_params.get("txn", "")
        if txn not in state.transactions:
            return HTMLResponse("unknown transaction", status_code=400)
        scope = html.escape(state.transactions[txn].get("scope", ""))
        return HTMLResponse(
            "<!doctype html><title>Legacy chat: consent</title>"
            f"<p>The broker asks for: <span id=scopes>{scope}</span></p>"
            f"<form method=post action='{state.legacy}/consent'>"
            f"<input type=hidden name=txn value='{txn}'>"
            "<button id=allow name=decision value=allow type=submit>Allow</button>"
            "<button id=deny name=decision value=deny type=submit>Deny</button></form>"
        )

    async def legacy_consent(request: Request) -> Response:
        form = parse_form(await request.body())
        user = state.sessions.get(request.cookies.get("legacy_session", ""))
        txn = state.transactions.pop(form.get("txn", ""), None)
        if txn is None or user is None:
            return HTMLResponse("unknown transaction", status_code=400)
        if form.get("decision") != "allow":
            query = urlencode({"error": "access_denied", "state": txn["state"]})
            return RedirectResponse(f"{txn['redirect_uri']}?{query}", status_code=303)
        code = secrets.token_urlsafe(16)
        state.codes[code] = {**txn, "user": user}
        query = urlencode({"code": code, "state": txn["state"]})
        return RedirectResponse(f"{txn['redirect_uri']}?{query}", status_code=303)

    async def legacy_token(request: Request) -> Response:
        form = parse_form(await request.body())
        grant = form.get("grant_type", "")
        state.grants.append(grant)
        if not _client(request, "broker-at-legacy"):
            return _error("invalid_client", status=401)
        if grant == "authorization_code":
            txn = state.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .decode()
                .rstrip("=")
            )
            if (
                txn is None
                or challenge != txn["code_challenge"]
                or form.get("redirect_uri") != txn["redirect_uri"]
            ):
                return _error("invalid_grant")
            scopes = parse_scope(txn.get("scope")) & LEGACY_GRANTABLE
            refresh = "rt-" + secrets.token_urlsafe(24)
            state.refresh_tokens[refresh] = {"user": txn["user"], "scopes": scopes}
            return JSONResponse(
                {**_token(state, txn["user"], scopes, state.legacy), "refresh_token": refresh}
            )
        if grant == "refresh_token":
            held = state.refresh_tokens.get(form.get("refresh_token", ""))
            if held is None:
                return _error("invalid_grant")
            state.refresh_scopes.append(form.get("scope", ""))
            asked = parse_scope(form.get("scope")) or held["scopes"]
            if not asked <= held["scopes"]:
                return _error("invalid_scope")
            scopes = asked if state.honour_downscope else held["scopes"]
            body = _token(state, held["user"], scopes, state.legacy)
            if state.rotate_refresh:
                del state.refresh_tokens[form["refresh_token"]]
                rotated = "rt-" + secrets.token_urlsafe(24)
                state.refresh_tokens[rotated] = held
                body["refresh_token"] = rotated
            return JSONResponse(body)
        if grant == "client_credentials":
            scopes = parse_scope(form.get("scope"))
            return JSONResponse(_token(state, "service-account", scopes, state.legacy))
        return _error("unsupported_grant_type")

    async def legacy_revoke(request: Request) -> Response:
        form = parse_form(await request.body())
        if not _client(request, "broker-at-legacy"):
            return _error("invalid_client", status=401)
        token = form.get("token", "")
        state.revoked.append(token)
        state.refresh_tokens.pop(token, None)
        state.access_tokens.pop(token, None)
        return Response(status_code=200)

    def legacy_extra() -> dict[str, Any]:
        extra: dict[str, Any] = {
            "authorization_endpoint": state.legacy + "/authorize",
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
        }
        if state.advertise_revocation:
            extra["revocation_endpoint"] = state.legacy + "/revoke"
        if state.advertise_iss:
            extra["authorization_response_iss_parameter_supported"] = True
        return extra

    routes = [
        metadata(
            state.idp,
            identity_chaining_requested_token_types_supported=[spec.TOKEN_TYPE_ID_JAG],
            grant_types_supported=[spec.GRANT_TOKEN_EXCHANGE],
        ),
        metadata(
            state.chat,
            authorization_endpoint=state.chat + "/authorize",
            grant_types_supported=[spec.GRANT_JWT_BEARER, "authorization_code"],
            authorization_grant_profiles_supported=[spec.GRANT_PROFILE_ID_JAG],
        ),
        metadata(state.legacy, legacy_extra),
        Route("/idp/token", idp_token, methods=["POST"]),
        Route("/chat/token", chat_token, methods=["POST"]),
        Route("/chat/authorize", chat_authorize),
        Route("/legacy/authorize", legacy_authorize),
        Route("/legacy/login", legacy_login, methods=["POST"]),
        Route("/legacy/consent", legacy_consent_page, methods=["GET"]),
        Route("/legacy/consent", legacy_consent, methods=["POST"]),
        Route("/legacy/token", legacy_token, methods=["POST"]),
        Route("/legacy/revoke", legacy_revoke, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def apps(state: AsState, redirect_uri: str) -> list[AppConfig]:
    """The broker's view: chat (discovered XAA), legacy (discovered code flow), legacy-svc."""
    return [
        AppConfig("chat", state.chat, state.chat + "/api", "broker-at-chat"),
        AppConfig(
            "legacy",
            state.legacy,
            state.legacy + "/api",
            "broker-at-legacy",
            redirect_uri=redirect_uri,
        ),
        AppConfig(
            "legacy-forced-xaa",
            state.legacy,
            state.legacy + "/api",
            "broker-at-legacy",
            strategy=Strategy.XAA,
            redirect_uri=redirect_uri,
        ),
        AppConfig(
            "legacy-svc",
            state.legacy,
            state.legacy + "/api",
            "broker-at-legacy",
            strategy=Strategy.CLIENT_CREDENTIALS,
        ),
    ]


def idp_config(state: AsState) -> IdpConfig:
    """The broker's client at the fake IdP."""
    return IdpConfig(state.idp, ClientCredentials.secret_basic("broker", BROKER_SECRET))


def session_for(state: AsState, user: str) -> IdentitySession:
    """An ID token for ``user`` from the fake IdP."""
    claims = IdTokenClaims(
        iss=state.idp, sub=user, aud="broker", iat=int(time.time()), exp=int(time.time()) + 3600
    )
    return IdentitySession(id_token=issue_id_token(claims, state.key))


async def consent_via_http(
    http: httpx.AsyncClient, url: str, *, user: str = "alice", decision: str = "allow"
) -> httpx.URL:
    """Do what a person does in the legacy pages (sign in, allow); the callback URL reached."""
    page = await http.get(url)
    assert page.status_code == 200 and "sign in" in page.text
    txn = re.search(r"name=txn value='([^']+)'", page.text)
    assert txn is not None
    form = {"txn": txn.group(1), "username": user, "password": USERS[user]}
    login = await http.post(url.split("/authorize")[0] + "/login", data=form)
    assert login.status_code == 303
    consent = await http.get(login.headers["location"])
    assert consent.status_code == 200
    answer = await http.post(
        url.split("/authorize")[0] + "/consent", data={"txn": txn.group(1), "decision": decision}
    )
    assert answer.status_code == 303
    return httpx.URL(answer.headers["location"])
