"""The chat account's activity page: every ID-JAG redemption and API action on the account,
with who acted ("alice via wiki", "alice via agent via spiffe://…/sub-agent"), the
client, the scopes and the ID-JAG ``jti`` (docs/console.md), so one flow can be
followed from the IdP's activity to the app's.

Behind its own small sign-in (the code flow's accounts and throttle) and a signed,
HttpOnly, ``SameSite=Strict`` cookie; CSRF-checked forms; CSP with
``frame-ancestors 'none'``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from math import ceil
from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xaa import AuditEvent, LoginThrottle, OAuthError, parse_form
from xaa.adapters.starlette import read_form_body

from .store import ChatStore

COOKIE = "xaa_chat_activity"
LOGIN_CSRF = "xaa_chat_activity_csrf"
SESSION_SECONDS = 3600
MAX_FIELD = 200
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Chat</title><style>
body{font:15px/1.45 system-ui,sans-serif;margin:1rem auto;max-width:76rem;padding:0 1rem;
color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d5d9e0;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#eef1f5}code{word-break:break-all}
label{display:block;margin:.5rem 0 .15rem;font-weight:600}.error{color:#a11}
:focus-visible{outline:3px solid #f5a623}
</style></head><body>
{% if account %}<form method="post" action="/activity/logout" style="float:right">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><button>Sign out</button></form>
{% endif %}
<h1>{{ title }}</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if account %}
<p>Everything done in Chat as <b>{{ account }}</b>: by you, by apps and by agents acting
for you.</p>
<table id="activity"><thead><tr><th scope="col">Time</th><th scope="col">What</th>
<th scope="col">Who</th><th scope="col">Client</th><th scope="col">Scopes</th>
<th scope="col">ID-JAG jti</th><th scope="col">Result</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.time }}</td><td>{{ r.what }}</td><td>{{ r.who }}</td>
<td><code>{{ r.client }}</code></td><td><code>{{ r.scopes }}</code></td>
<td><code>{{ r.jti }}</code></td><td>{{ r.result }}</td></tr>
{% else %}<tr><td colspan="7">No activity yet.</td></tr>{% endfor %}
</tbody></table>
{% else %}
<form method="post" action="/activity/login" style="max-width:22rem">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" maxlength="200" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 maxlength="200" required>
<p><button type="submit">Sign in</button></p></form>
{% endif %}
</body></html>"""
)


def _page(status: int = 200, **context: Any) -> Response:
    response = HTMLResponse(_PAGE.render(**context), status_code=status)
    response.headers.update(HEADERS)
    return response


def _when(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


def attribution(person: str, client: str | None, actors: list[str]) -> str:
    """``alice via wiki``; with actors (current first in ``actors``), the earliest first."""
    return " via ".join([person, *([client] if client else []), *reversed(actors)])


def rows(store: ChatStore, account_id: str) -> list[dict[str, str]]:
    """The activity rows of one account, newest first."""
    events = store.account_events(account_id)
    person = store.account_name(account_id)
    id_jag_of = {
        e.extra.get("access_token_jti"): e.jti for e in events if e.event == "jwt_bearer" and e.jti
    }
    return [_row(e, person, id_jag_of) for e in events]


def _row(event: AuditEvent, person: str, id_jag_of: dict[Any, str]) -> dict[str, str]:
    if event.event == "jwt_bearer":
        what, jti = "ID-JAG redeemed for an access token", event.jti
    elif event.event == "resource.request":
        what = f"{event.extra.get('method', '')} {event.extra.get('path', '')}"
        jti = id_jag_of.get(event.jti)
    else:
        what, jti = event.event, None
    return {
        "time": _when(event.time),
        "what": what,
        "who": attribution(person, event.client_id, event.actors),
        "client": event.client_id or "",
        "scopes": event.granted_scope or "",
        "jti": jti or "",
        "result": "ok" if event.decision == "issued" else f"refused ({event.reason})",
    }


class ActivityPages:
    """The ``/activity`` routes of one chat app."""

    def __init__(self, store: ChatStore, throttle: LoginThrottle, issuer: str) -> None:
        self.store = store
        self.throttle = throttle
        self._key = secrets.token_bytes(32)
        self._secure = issuer.startswith("https://")

    def _mac(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def _account(self, request: Request) -> str | None:
        """The account id of a valid session cookie."""
        value = request.cookies.get(COOKIE, "")
        account, _, rest = value.partition("|")
        expires, _, mac = rest.partition("|")
        if not (account and expires.isdigit() and len(value) <= 300):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{account}|{expires}")):
            return None
        return account if int(expires) > time.time() else None

    def _csrf(self, request: Request) -> str:
        return self._mac("csrf|" + request.cookies.get(COOKIE, ""))

    async def show(self, request: Request) -> Response:
        account = self._account(request)
        if account is None:
            return self._login_page()
        return _page(
            title="Your activity",
            account=self.store.account_name(account),
            csrf=self._csrf(request),
            rows=rows(self.store, account),
        )

    def _login_page(self, error: str = "", status: int = 200) -> Response:
        csrf = secrets.token_urlsafe(24)
        response = _page(status, title="Sign in to see your activity", csrf=csrf, error=error)
        response.set_cookie(
            LOGIN_CSRF,
            csrf,
            path="/activity",
            httponly=True,
            samesite="strict",
            secure=self._secure,
        )
        return response

    async def _form(self, request: Request) -> dict[str, str] | None:
        try:
            form = parse_form(await read_form_body(request), repeatable=())
        except OAuthError:
            return None
        out = {k: form.get(k) or "" for k in form}
        return out if all(len(v) <= MAX_FIELD for v in out.values()) else None

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None:
            return self._login_page("Enter a username and a password.", 400)
        cookie = request.cookies.get(LOGIN_CSRF, "")
        if not cookie or not hmac.compare_digest(form.get("csrf_token", ""), cookie):
            return _page(403, title="Refused", error="The sign-in form is not valid.")
        username = form.get("username", "")
        address = request.client.host if request.client else None
        locked = self.throttle.check(username, address)
        if locked is not None:
            wait = ceil(locked.retry_after)
            page = self._login_page(f"Too many failed sign-ins. Try again in {wait} s.", 429)
            page.headers["retry-after"] = str(wait)
            return page
        account = self.store.login(username, form.get("password", ""))
        if account is None:
            self.throttle.failure(username, address)
            return self._login_page("Wrong username or password.", 401)
        self.throttle.success(username, address)
        expires = int(time.time()) + SESSION_SECONDS
        value = f"{account.id}|{expires}"
        response = RedirectResponse("/activity", status_code=303)
        response.headers.update(HEADERS)
        response.set_cookie(
            COOKIE,
            f"{value}|{self._mac(value)}",
            path="/activity",
            httponly=True,
            samesite="strict",
            secure=self._secure,
            max_age=SESSION_SECONDS,
        )
        response.delete_cookie(LOGIN_CSRF, path="/activity")
        return response

    async def logout(self, request: Request) -> Response:
        form = await self._form(request)
        if form is None or not hmac.compare_digest(form.get("csrf_token", ""), self._csrf(request)):
            return _page(403, title="Refused", error="The form is not valid.")
        response = RedirectResponse("/activity", status_code=303)
        response.headers.update(HEADERS)
        response.delete_cookie(COOKIE, path="/activity")
        return response


def activity_routes(store: ChatStore, throttle: LoginThrottle, issuer: str) -> list[BaseRoute]:
    """``GET /activity``, ``POST /activity/login`` and ``POST /activity/logout``."""
    pages = ActivityPages(store, throttle, issuer)
    return [
        Route("/activity", pages.show, methods=["GET"]),
        Route("/activity/login", pages.login, methods=["POST"]),
        Route("/activity/logout", pages.logout, methods=["POST"]),
    ]
