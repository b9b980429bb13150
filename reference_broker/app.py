"""The broker service: the token API for agents and the people's pages (docs/broker.md).

- ``POST /v1/token`` (JSON): an authenticated agent asks for a token for a
  person at an app; answered with the token and its attribution, or a typed
  error (:mod:`reference_broker.api`).
- People sign in through the IdP (OIDC code + PKCE, ``/login``), see their
  apps (``/``), connect a legacy app through its OAuth consent
  (``/connect/{app}``, callback ``/callback``), see what agents did for them
  (``/activity``) and revoke an app or an agent (``/revoke``, ``/restore``).

All state is in the shared store (:mod:`reference_broker.state`), so any
number of workers and hosts can serve it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xaa import OAuthError, ProtocolViolation
from xaa.adapters.broker import Broker, Keyring
from xaa.adapters.starlette import HttpEdge
from xaa.broker import (
    CLIENT_SUBJECT,
    BrokerConfig,
    BrokerError,
    SecretKind,
    SignInRejected,
    Slot,
    Strategy,
    VaultEntry,
    VaultIntegrityError,
)
from xaa.client import ClientCredentials, IdpConfig, XaaClientError

from . import api, signin
from .agents import AgentRegistry
from .config import BrokerServiceConfig, load_config
from .state import ServiceState, WebSession

log = logging.getLogger("xaa.broker.service")
COOKIE = "xaa_broker_session"
CONFIG_ENV = "XAA_BROKER_CONFIG"
MAX_FORM_BYTES = 4096
_TEMPLATES = Jinja2Templates(
    directory=str(Path(str(resources.files("reference_broker").joinpath("templates"))))
)


class Service:
    """The configuration, the shared state, the broker and the agents, for the routes."""

    def __init__(self, config: BrokerServiceConfig, keyring: Keyring) -> None:
        self.config = config
        self.state = ServiceState(config, keyring)
        self.agents = AgentRegistry(config, self.state.replay)
        self.http = httpx.AsyncClient(follow_redirects=False, timeout=10.0)
        idp_secret = config.idp.secret()
        if not idp_secret:
            raise ValueError("the IdP client secret is not set (idp.client_secret_env)")
        self.idp_credentials = ClientCredentials(
            config.idp.client_id, config.idp.auth_method, secret=idp_secret
        )
        broker_config = BrokerConfig(
            apps={a.name: a.app_config(config.base) for a in config.apps},
            vault=self.state.vault,
            revocations=self.state.revocations,
            log=self.state.log,
            idp=IdpConfig(config.idp.issuer, self.idp_credentials),
            sessions=self.state.sessions,
            pending=self.state.pending,
        )
        self.broker = Broker(broker_config, http=self.http)
        for app in config.apps:
            secret = app.secret()
            if secret:
                slot = Slot(SecretKind.CLIENT_SECRET, CLIENT_SUBJECT, app.name)
                current = self.state.vault.get(slot)
                if current is None or current.secret != secret:
                    self.state.vault.put(slot, VaultEntry(secret))
        self.strategies: dict[str, Strategy] = {}

    async def strategy(self, app: str) -> Strategy | None:
        """``app``'s strategy (discovered once per worker), ``None`` when unreachable."""
        if app not in self.strategies:
            try:
                self.strategies[app] = await self.broker.strategy(app)
            except (httpx.HTTPError, ProtocolViolation, OAuthError, BrokerError, XaaClientError):
                return None
        return self.strategies[app]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SecurityHeaders:
    """CSP with ``frame-ancestors 'none'``, ``X-Frame-Options: DENY`` and friends on every
    response; forms may only post to us, and redirect on to the IdP and the apps."""

    def __init__(self, app: ASGIApp, config: BrokerServiceConfig) -> None:
        self.app = app
        targets = {_origin(config.idp.issuer), *(_origin(a.issuer) for a in config.apps)}
        self.csp = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
            f"form-action 'self' {' '.join(sorted(targets))}; frame-ancestors 'none'; "
            "base-uri 'none'"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"content-security-policy", self.csp.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ):
                    if name not in names:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _web_session(request: Request) -> WebSession | None:
    return _service(request).state.session(request.cookies.get(COOKIE), time.time())


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = _web_session(request)
    values = {
        "title": context.pop("title", "Agent access"),
        "person": session.person if session else None,
        "csrf": session.csrf if session else "",
        **context,
    }
    response: HTMLResponse = _TEMPLATES.TemplateResponse(request, name, values, status_code=status)
    return response


def _message(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    return _render(request, "message.html", status, title=title, message=message)


async def _read_form(request: Request) -> dict[str, str] | None:
    """A small urlencoded form, capped while it streams; ``None`` when too large or malformed
    (a repeated field included)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        return None
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
    except ClientDisconnect:
        return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return None
    values = dict(pairs)
    return values if len(values) == len(pairs) else None


class Refused(Exception):
    """A page refuses the request: rendered by :func:`_refused` as a message page."""

    def __init__(self, title: str, message: str, status: int) -> None:
        super().__init__(message)
        self.title, self.message, self.status = title, message, status


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return _message(request, exc.title, exc.message, exc.status)


async def _form_with_csrf(request: Request) -> tuple[WebSession, dict[str, str]]:
    """The posted form of a signed-in person whose CSRF token matches; else :class:`Refused`."""
    session = _web_session(request)
    if session is None:
        raise Refused("Sign in first", "Your session has ended.", 401)
    values = await _read_form(request)
    if values is None:
        raise Refused("Refused", "The form is malformed or too large.", 400)
    sent = values.get("csrf_token", "")
    if not secrets.compare_digest(sent.encode(), session.csrf.encode()):
        raise Refused("Refused", "The form expired; reload the page.", 403)
    return session, values


# -- pages --------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    session = _web_session(request)
    if session is None:
        return _render(request, "signin.html", title="Sign in", next=None)
    service = _service(request)
    now = time.time()
    withdrawn = service.state.withdrawn(session.person, now)
    has_idp = service.state.sessions.session(session.person) is not None
    apps = []
    for app in service.config.apps:
        strategy = await service.strategy(app.name)
        if ("app", app.name) in withdrawn:
            status = "withdrawn"
        elif strategy == Strategy.XAA:
            status = "connected" if has_idp else "not connected"
        elif strategy == Strategy.AUTHORIZATION_CODE:
            slot = Slot(SecretKind.REFRESH_TOKEN, session.person, app.name)
            try:
                vaulted = service.state.vault.get(slot) is not None
            except VaultIntegrityError:
                vaulted = False
            status = "connected" if vaulted else "not connected"
        else:
            status = "connected"
        apps.append(
            {
                "name": app.name,
                "title": app.title or app.name,
                "strategy": str(strategy) if strategy else None,
                "status": status,
            }
        )
    killed = {str(t) for t in service.state.revocations.targets()}
    agents = [
        {
            "name": a.name,
            "owner": a.owner,
            "apps": a.apps,
            "scopes": a.scopes,
            "status": "revoked" if f"agent:{a.name}" in killed else a.status,
            "withdrawn": ("agent", a.name) in withdrawn,
        }
        for a in service.config.agents
    ]
    return _render(request, "home.html", title="Your apps", apps=apps, agents=agents)


async def connect_page(request: Request) -> Response:
    name = request.path_params["app"]
    service = _service(request)
    app = service.config.app(name)
    if app is None:
        return _message(request, "Unknown app", "There is no such app.", 404)
    if _web_session(request) is None:
        return RedirectResponse("/login?" + urlencode({"next": f"/connect/{name}"}), 303)
    strategy = await service.strategy(name)
    view = {
        "name": app.name,
        "title": app.title or app.name,
        "strategy": str(strategy),
        "scopes": app.scopes,
    }
    return _render(request, "connect.html", title=f"Connect {view['title']}", app=view)


async def connect(request: Request) -> Response:
    session, _ = await _form_with_csrf(request)
    name = request.path_params["app"]
    service = _service(request)
    app = service.config.app(name)
    if app is None:
        return _message(request, "Unknown app", "There is no such app.", 404)
    service.state.restore(session.person, "app", name)
    strategy = await service.strategy(name)
    if strategy != Strategy.AUTHORIZATION_CODE:
        return RedirectResponse("/", 303)
    try:
        url = await service.broker.authorization_url(session.person, name, app.scopes)
    except (BrokerError, OAuthError, ProtocolViolation, XaaClientError, httpx.HTTPError) as exc:
        log.info("connect %s failed: %s", name, type(exc).__name__)
        return _message(request, "Not connected", f"{name} cannot be connected now.", 409)
    return RedirectResponse(url, 303)


async def callback(request: Request) -> Response:
    """The apps' OAuth callback (RFC 6749 §4.1.2): the grant lands in the signed-in person's
    vault slot only when the request was theirs."""
    return await api.oauth_callback(request, _service(request), _web_session(request))


async def activity(request: Request) -> Response:
    session = _web_session(request)
    if session is None:
        return RedirectResponse("/login?" + urlencode({"next": "/activity"}), 303)
    records = [
        r
        for r in _service(request).state.log.records()
        if r.event == "mint" and r.person == session.person and r.agent
    ]
    rows = [
        {
            "when": datetime.fromtimestamp(r.time, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "agent": r.agent,
            "app": r.app,
            "scopes": " ".join(r.granted_scopes),
            "via": "XAA" if r.strategy == Strategy.XAA else f"fallback ({r.strategy})",
            "via_class": "xaa" if r.strategy == Strategy.XAA else "fallback",
        }
        for r in reversed(records[-500:])
    ]
    return _render(request, "activity.html", title="Activity", rows=rows)


async def revoke(request: Request) -> Response:
    session, form = await _form_with_csrf(request)
    service = _service(request)
    kind, name = form.get("kind"), form.get("name", "")
    at_app = False
    if kind == "app" and service.config.app(name) is not None:
        service.state.withdraw(session.person, "app", name)
        try:
            at_app = await service.broker.forget_grant(session.person, name)
        except (BrokerError, OAuthError, ProtocolViolation, XaaClientError, ValueError) as exc:
            log.info("revocation at %s failed: %s", name, type(exc).__name__)
    elif kind == "agent" and service.config.agent(name) is not None:
        service.state.withdraw(session.person, "agent", name)
        service.broker.withdraw_agent(session.person, name)
    else:
        return _message(request, "Refused", "Nothing to revoke by that name.", 400)
    service.state.log.append(api.withdrawal_record(session.person, kind, name, at_app))
    return RedirectResponse("/", 303)


async def restore(request: Request) -> Response:
    session, form = await _form_with_csrf(request)
    kind = form.get("kind")
    if kind == "app":
        _service(request).state.restore(session.person, "app", form.get("name", ""))
    elif kind == "agent":
        _service(request).state.restore(session.person, "agent", form.get("name", ""))
    else:
        return _message(request, "Refused", "Nothing to allow by that name.", 400)
    return RedirectResponse("/", 303)


async def login(request: Request) -> Response:
    try:
        return await signin.start(request, _service(request))
    except (httpx.HTTPError, ProtocolViolation, OAuthError, XaaClientError) as exc:
        log.info("sign-in could not start: %s", type(exc).__name__)
        return _message(
            request, "Cannot sign in now", "The sign-in service cannot be reached.", 502
        )


async def login_callback(request: Request) -> Response:
    service = _service(request)
    try:
        signed_in = await signin.finish(request, service)
    except SignInRejected as refused:
        return _message(request, "Not signed in", refused.message, 400)
    sid = service.state.new_session(signed_in.person, time.time())
    service.state.sessions.keep(signed_in.person, signed_in.session)
    response = RedirectResponse(signed_in.target, 303)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=service.config.session_lifetime,
        httponly=True,
        secure=service.config.secure_cookies,
        samesite="lax",
        path="/",
    )
    response.delete_cookie(signin.LOGIN_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    await _form_with_csrf(request)
    _service(request).state.end_session(request.cookies.get(COOKIE))
    response = RedirectResponse("/", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def token(request: Request) -> Response:
    return await api.token_endpoint(request, _service(request))


def create_app(config: BrokerServiceConfig, *, keyring: Keyring | None = None) -> Starlette:
    """The service for ``config``; vault keys from the environment unless given."""
    service = Service(config, keyring or Keyring.from_environment())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await service.http.aclose()

    app = Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/v1/token", token, methods=["POST"]),
            Route("/login", login, methods=["GET"]),
            Route("/login/callback", login_callback, methods=["GET"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/connect/{app}", connect_page, methods=["GET"]),
            Route("/connect/{app}", connect, methods=["POST"]),
            Route("/callback", callback, methods=["GET"]),
            Route("/activity", activity, methods=["GET"]),
            Route("/revoke", revoke, methods=["POST"]),
            Route("/restore", restore, methods=["POST"]),
        ],
        lifespan=lifespan,
        exception_handlers={Refused: _refused},
    )
    app.state.service = service
    app.add_middleware(SecurityHeaders, config=config)
    app.add_middleware(HttpEdge)  # outermost: body cap and stall timeout, quiet disconnects
    return app


def app_from_environment() -> Starlette:
    """The app for ``uvicorn --factory`` workers: the file named by ``XAA_BROKER_CONFIG``."""
    return create_app(load_config(os.environ[CONFIG_ENV]))


__all__ = ["CONFIG_ENV", "COOKIE", "Service", "app_from_environment", "create_app"]
