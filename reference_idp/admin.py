"""The governance console of the reference IdP, under ``/admin`` (docs/console.md).

Connections (the issuance policy: who may get ID-JAGs for which resource AS, with
which scopes, claims and authentication context, draft-03 §4.3.3, §8.2), clients
and agents (suspend and resume), users (sign out everywhere), activity (every
decision, filterable, exportable) and signing keys (stage, rotate). Only users
with ``admin = true`` (docs/idp-config.md) sign in, through the throttled login;
every change is a CSRF-checked POST and is itself audited with its before and after.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from math import ceil
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xaa import RotationRefused
from xaa.idp import IssuancePolicy

from . import console_forms as forms
from .console_store import ActivityFilter, ActivityRow, ConsoleStore, end_session
from .console_web import (
    BadInput,
    csrf_ok,
    csrf_token,
    name,
    page,
    read_form,
    same_origin,
    secure,
    single_query,
    text,
)
from .store import Session

if TYPE_CHECKING:
    from .app import Idp

ADMIN_COOKIE = "xaa_idp_admin"
LOGIN_CSRF_COOKIE = "xaa_idp_admin_csrf"
ADMIN_ACR = "urn:xaa:acr:admin-console"
SESSION_SECONDS = 3600
_TOO_MANY = "Too many failed sign-ins. Try again in {} seconds."


STYLESHEET = resources.files("reference_idp").joinpath("templates/console.css").read_text("utf-8")
Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """The console's handlers for one :class:`reference_idp.app.Idp`."""

    def __init__(self, idp: Idp) -> None:
        self.idp = idp
        self.store = idp.store
        self.console = ConsoleStore(idp.store)
        self.admins = frozenset(u.username for u in idp.config.users if u.admin)
        self._csrf_key = secrets.token_bytes(32)
        self._secure_cookies = idp.issuer.startswith("https://")

    # -- sessions -----------------------------------------------------------------------

    def _admin(self, request: Request) -> tuple[str, str] | None:
        """``(username, session id)`` of a signed-in admin, else ``None``."""
        session_id = request.cookies.get(ADMIN_COOKIE, "")
        if not session_id or len(session_id) > 128:
            return None
        session = self.store.session(session_id, time.time())
        if session is None or session.acr != ADMIN_ACR or session.sub not in self.admins:
            return None
        if self.store.find_subject(session.sub) is None:  # disabled since
            return None
        return session.sub, session_id

    def _render(
        self, request: Request, who: tuple[str, str], template: str, **ctx: Any
    ) -> Response:
        status = int(ctx.pop("status", 200))
        return page(
            template,
            status=status,
            admin=who[0],
            csrf=csrf_token(self._csrf_key, who[1]),
            path=request.url.path,
            **ctx,
        )

    def _audit(self, admin: str, action: str, target: str, before: Any, after: Any) -> int:
        """Record and audit one admin change (who, what, before and after)."""
        now = time.time()
        change = self.console.record_change(admin, action, target, before, after, now)
        self.idp.audit(
            f"admin.{action}", "issued", subject=admin, extra={"target": target, "change": change}
        )
        return change

    def view(self, handler: Callable[[Request, tuple[str, str]], Awaitable[Response]]) -> Handler:
        """A page for signed-in admins (others are sent to the sign-in page)."""

        async def guarded(request: Request) -> Response:
            who = self._admin(request)
            if who is None:
                return secure(RedirectResponse("/admin/login", status_code=303))
            try:
                query = single_query(
                    request,
                    forms.FILTERS | {"client", "audience", "issuer", "action", "user", "done"},
                )
                request.state.query = query
                return await handler(request, who)
            except BadInput as exc:
                return self._render(request, who, "error.html", status=400, error=exc)

        return guarded

    def change(
        self, handler: Callable[[Request, tuple[str, str], dict[str, str]], Awaitable[Response]]
    ) -> Handler:
        """A state change: an admin, same origin, a valid CSRF token, a bounded form."""

        async def guarded(request: Request) -> Response:
            who = self._admin(request)
            if who is None:
                return page("denied.html", status=403, reason="Sign in as an administrator.")
            if not same_origin(request, self.idp.issuer):
                self.idp.audit("admin.csrf", "denied", "cross_site", subject=who[0])
                return page("denied.html", status=403, reason="Cross-site request refused.")
            try:
                form = await read_form(request)
            except BadInput as exc:
                return self._render(request, who, "error.html", status=400, error=exc)
            if not csrf_ok(self._csrf_key, who[1], form):
                self.idp.audit("admin.csrf", "denied", "csrf", subject=who[0])
                return page("denied.html", status=403, reason="The form is not valid (CSRF).")
            try:
                return await handler(request, who, form)
            except BadInput as exc:
                return self._render(request, who, "error.html", status=400, error=exc)

        return guarded

    # -- sign-in ------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        return self._login_page()

    def _login_page(
        self, error: str = "", status: int = 200, retry: float | None = None
    ) -> Response:
        csrf = secrets.token_urlsafe(32)
        response = page("login.html", status=status, csrf=csrf, error=error)
        if retry is not None:
            response.headers["retry-after"] = str(ceil(retry))
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            csrf,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=self._secure_cookies,
        )
        return response

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            username = name(form.get("username"), "username", required=True)
            password = text(form.get("password"), "password", limit=200, required=True)
        except BadInput:
            return self._login_page("Enter a username and a password.", 400)
        sent, cookie = form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not same_origin(request, self.idp.issuer) or not cookie or sent != cookie:
            self.idp.audit("admin.login", "denied", "csrf")
            return page("denied.html", status=403, reason="The sign-in form is not valid.")
        address = request.client.host if request.client else None
        throttle = self.idp.throttle
        locked = throttle.check(username, address)
        if locked is not None:
            self.idp.audit("admin.login", "denied", "throttled")
            return self._login_page(
                _TOO_MANY.format(ceil(locked.retry_after)), 429, locked.retry_after
            )
        if not self.store.check_login(username, password):
            self.idp.audit("admin.login", "denied", "bad_credentials")
            lock = throttle.failure(username, address)
            if lock is not None:
                self.idp.audit(
                    "admin.login",
                    "denied",
                    "locked",
                    subject=username,
                    extra={"key": lock.key, "failures": lock.failures, "seconds": lock.retry_after},
                )
            return self._login_page("Wrong username or password.", 401)
        throttle.success(username, address)
        if username not in self.admins:
            self.idp.audit("admin.login", "denied", "not_admin", subject=username)
            return page("denied.html", status=403, reason=f"{username} is not an administrator.")
        now = time.time()
        session = Session(username, int(now), ADMIN_ACR, ("pwd",))
        session_id = self.store.new_session(session, now, ttl=SESSION_SECONDS)
        self.idp.audit("admin.login", "issued", subject=username)
        response = secure(RedirectResponse("/admin/activity", status_code=303))
        response.set_cookie(
            ADMIN_COOKIE,
            session_id,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=self._secure_cookies,
            max_age=SESSION_SECONDS,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
        return response

    async def logout(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        end_session(self.store, who[1])
        self.idp.audit("admin.logout", "issued", subject=who[0])
        response = secure(RedirectResponse("/admin/login", status_code=303))
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    # -- connections --------------------------------------------------------------------

    async def connections(self, request: Request, who: tuple[str, str]) -> Response:
        policy = self.store.policy()
        return self._render(
            request,
            who,
            "connections.html",
            policy=policy,
            rules=forms.format_rules,
            clients=[c.client_id for c in self.store.clients()],
            done=request.state.query.get("done", ""),
        )

    def _grant(self, policy: IssuancePolicy, client: str, audience: str) -> Any:
        for grant in policy.grants:
            if (grant.client, grant.audience) == (client, audience):
                return grant
        raise BadInput("connection", "no such connection")

    async def connection_edit(self, request: Request, who: tuple[str, str]) -> Response:
        query = request.state.query
        client = name(query.get("client"), "client", required=True)
        audience = name(query.get("audience"), "audience", required=True)
        policy = self.store.policy()
        grant = self._grant(policy, client, audience)
        return self._render(
            request,
            who,
            "connection_edit.html",
            grant=grant,
            rules=forms.format_rules(grant.scopes),
        )

    async def connection_save(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        grant = forms.connection(form)
        key = (grant.client, grant.audience)
        policy = self.store.policy()
        before = next((g for g in policy.grants if (g.client, g.audience) == key), None)
        if form.get("new") == "1" and before is not None:
            raise BadInput("connection", "exists already: edit it instead")
        if self.store.client_record(grant.client) is None:
            raise BadInput("client", "is no client of this IdP")
        self.store.set_policy(forms.with_connection(policy, grant, key))
        self._audit(
            who[0],
            "connection.save",
            f"{grant.client} -> {grant.audience}",
            before.model_dump() if before else None,
            grant.model_dump(),
        )
        return secure(RedirectResponse("/admin/connections?done=saved", status_code=303))

    async def connection_delete(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        client = name(form.get("client"), "client", required=True)
        audience = name(form.get("audience"), "audience", required=True)
        if form.get("confirm") != "yes":
            raise BadInput("confirm", "tick the confirmation to delete a connection")
        policy = self.store.policy()
        before = self._grant(policy, client, audience)
        self.store.set_policy(forms.with_connection(policy, None, (client, audience)))
        self._audit(
            who[0], "connection.delete", f"{client} -> {audience}", before.model_dump(), None
        )
        return secure(RedirectResponse("/admin/connections?done=deleted", status_code=303))

    async def server_edit(self, request: Request, who: tuple[str, str]) -> Response:
        issuer = name(request.state.query.get("issuer"), "issuer", required=True)
        server = self._server(self.store.policy(), issuer)
        return self._render(request, who, "server_edit.html", server=server, claims=forms.CLAIMS)

    @staticmethod
    def _server(policy: IssuancePolicy, issuer: str) -> Any:
        for server in policy.resource_servers:
            if server.issuer == issuer:
                return server
        raise BadInput("issuer", "no such resource authorization server")

    async def server_save(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        issuer = name(form.get("issuer"), "issuer", required=True)
        policy = self.store.policy()
        before = self._server(policy, issuer)
        after = forms.server_update(before, form)
        self.store.set_policy(forms.with_server(policy, after))
        secret = {"pairwise_salt"}
        self._audit(
            who[0],
            "server.save",
            issuer,
            before.model_dump(exclude=secret),
            after.model_dump(exclude=secret),
        )
        return secure(RedirectResponse("/admin/connections?done=saved", status_code=303))

    # -- clients and agents -------------------------------------------------------------

    def _actors_for(self, client_id: str) -> list[dict[str, Any]]:
        actors = self.idp.config.actors
        if actors is None:
            return []
        return [
            {"actor": r.actor, "subjects": r.subjects, "scopes": r.scopes}
            for r in actors.rules
            if "*" in r.clients or client_id in r.clients
        ]

    async def clients(self, request: Request, who: tuple[str, str]) -> Response:
        last = self.console.last_use()
        rows = [
            {
                "client": c,
                "last_use": last.get(c.client_id),
                "actors": self._actors_for(c.client_id),
            }
            for c in self.store.clients()
        ]
        return self._render(
            request,
            who,
            "clients.html",
            rows=rows,
            when=_when,
            done=request.state.query.get("done", ""),
        )

    async def client_confirm(self, request: Request, who: tuple[str, str]) -> Response:
        query = request.state.query
        client = name(query.get("client"), "client", required=True)
        action = _action(query.get("action"))
        record = self.store.client_record(client)
        if record is None:
            raise BadInput("client", "is no client of this IdP")
        return self._render(request, who, "client_confirm.html", client=record, action=action)

    async def client_status(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        client = name(form.get("client"), "client", required=True)
        action = _action(form.get("action"))
        if form.get("confirm") != "yes":
            raise BadInput("confirm", "confirm the change first")
        record = self.store.client_record(client)
        if record is None:
            raise BadInput("client", "is no client of this IdP")
        status = "suspended" if action == "suspend" else "active"
        if not self.store.set_client_status(client, status):  # nothing changed: no audit row
            raise BadInput("client", "was removed from the configuration file")
        self._audit(
            who[0], f"client.{action}", client, {"status": record.status}, {"status": status}
        )
        return secure(RedirectResponse(f"/admin/clients?done={action}", status_code=303))

    # -- users --------------------------------------------------------------------------

    async def users(self, request: Request, who: tuple[str, str]) -> Response:
        return self._render(
            request,
            who,
            "users.html",
            users=self.console.users(time.time()),
            admins=self.admins,
            done=request.state.query.get("done", ""),
        )

    async def user_confirm(self, request: Request, who: tuple[str, str]) -> Response:
        user = name(request.state.query.get("user"), "user", required=True)
        if not any(u["username"] == user for u in self.console.users(time.time())):
            raise BadInput("user", "no such user")
        return self._render(request, who, "user_confirm.html", user=user)

    async def user_signout(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        user = name(form.get("user"), "user", required=True)
        if form.get("confirm") != "yes":
            raise BadInput("confirm", "confirm the change first")
        tokens, sessions = self.console.sign_out_everywhere(user, time.time())
        self._audit(
            who[0],
            "user.sign_out",
            user,
            None,
            {"refresh_tokens_revoked": tokens, "sessions_ended": sessions},
        )
        return secure(RedirectResponse("/admin/users?done=signed-out", status_code=303))

    # -- activity -----------------------------------------------------------------------

    async def activity(self, request: Request, who: tuple[str, str]) -> Response:
        where, number = forms.activity_filter(request.state.query)
        rows, more = self.console.activity(where, number)
        query = where.query()
        return self._render(
            request,
            who,
            "activity.html",
            rows=rows,
            where=where,
            form=query,
            when=_when,
            page=number,
            more=more,
            link=lambda **kw: "?" + urlencode({**query, **kw}),
            export=urlencode(query),
        )

    async def activity_row(self, request: Request, who: tuple[str, str]) -> Response:
        row_id = int(request.path_params["row"])
        row = self.console.row(row_id) if row_id < 2**62 else None
        if row is None:
            raise BadInput("row", "no such activity")
        event = row.event
        claims = (
            self.console.claims(event.jti)
            if event.jti and event.event.startswith("token_exchange")
            else None
        )
        change_id = event.extra.get("change") if event.event.startswith("admin.") else None
        change = self.console.change(change_id) if isinstance(change_id, int) else None
        return self._render(
            request,
            who,
            "activity_row.html",
            row=row,
            event=event,
            when=_when,
            claims=json.dumps(claims, indent=2, sort_keys=True) if claims else None,
            change=change,
            dumps=lambda v: json.dumps(v, indent=2, sort_keys=True),
        )

    async def export_jsonl(self, request: Request, who: tuple[str, str]) -> Response:
        where, _ = forms.activity_filter(request.state.query)
        lines = (
            json.dumps({"id": r.id, **r.event.model_dump()}, sort_keys=True)
            for r in self.console.export(where)
        )
        return _download("\n".join(lines) + "\n", "application/x-ndjson", "activity.jsonl")

    async def export_csv(self, request: Request, who: tuple[str, str]) -> Response:
        where, _ = forms.activity_filter(request.state.query)
        return _download(
            _csv(self.console.export(where)), "text/csv; charset=utf-8", "activity.csv"
        )

    # -- keys ---------------------------------------------------------------------------

    async def keys(self, request: Request, who: tuple[str, str], error: str = "") -> Response:
        config = self.idp.config
        ready = self.store.key_rotatable_at(config.key_min_staging)
        return self._render(
            request,
            who,
            "keys.html",
            status=409 if error else 200,
            keys=self.console.key_rows(),
            when=_when,
            ready=ready,
            now=time.time(),
            min_staging=config.key_min_staging,
            lifetime=config.max_signed_lifetime,
            error=error,
            done=request.state.query.get("done", "") if not error else "",
        )

    async def key_stage(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        before = [k["kid"] for k in self.console.key_rows() if k["state"] == "next"]
        key = self.store.stage_key()
        self._audit(who[0], "keys.stage", key.kid, {"next": before}, {"next": [key.kid]})
        return secure(RedirectResponse("/admin/keys?done=staged", status_code=303))

    async def key_rotate(
        self, request: Request, who: tuple[str, str], form: dict[str, str]
    ) -> Response:
        config = self.idp.config
        before = {k["kid"]: k["state"] for k in self.console.key_rows()}
        try:
            key = self.store.rotate_keys(
                config.max_signed_lifetime, min_staging=config.key_min_staging
            )
        except RotationRefused as exc:
            self.idp.audit(
                "admin.keys.rotate",
                "denied",
                "rotation_refused",
                subject=who[0],
                extra={"detail": str(exc)},
            )
            request.state.query = {}
            return await self.keys(request, who, error=str(exc))
        after = {k["kid"]: k["state"] for k in self.console.key_rows()}
        self._audit(who[0], "keys.rotate", key.kid, before, after)
        return secure(RedirectResponse("/admin/keys?done=rotated", status_code=303))


def _action(value: str | None) -> str:
    if value not in ("suspend", "resume"):
        raise BadInput("action", "must be suspend or resume")
    return value


def _when(value: float | None) -> str:
    if value is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))


CSV_COLUMNS = (
    "id",
    "time",
    "event",
    "decision",
    "reason",
    "subject",
    "client_id",
    "actors",
    "audience",
    "requested_scope",
    "granted_scope",
    "jti",
    "client_address",
)


def _csv(rows: list[ActivityRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.event.model_dump()
        data["id"] = row.id
        data["time"] = _when(row.event.time)
        data["actors"] = " > ".join(row.event.actors)
        writer.writerow([_cell(data.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell; a leading ``= + - @`` is quoted against spreadsheet formula injection."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _download(body: str, media_type: str, filename: str) -> Response:
    return secure(
        Response(
            body,
            media_type=media_type,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    )


def admin_routes(idp: Idp) -> list[BaseRoute]:
    """The console's routes (mounted by :func:`reference_idp.app.create_app`)."""
    c = Console(idp)

    async def css(request: Request) -> Response:
        response = Response(STYLESHEET, media_type="text/css")
        response.headers["cache-control"] = "max-age=300"
        response.headers["x-content-type-options"] = "nosniff"
        return response

    async def home(request: Request) -> Response:
        return secure(RedirectResponse("/admin/activity", status_code=303))

    get, post = ["GET"], ["POST"]
    return [
        Route("/admin", home, methods=get),
        Route("/admin/static/console.css", css, methods=get),
        Route("/admin/login", c.login_form, methods=get),
        Route("/admin/login", c.login, methods=post),
        Route("/admin/logout", c.change(c.logout), methods=post),
        Route("/admin/connections", c.view(c.connections), methods=get),
        Route("/admin/connections/edit", c.view(c.connection_edit), methods=get),
        Route("/admin/connections/save", c.change(c.connection_save), methods=post),
        Route("/admin/connections/delete", c.change(c.connection_delete), methods=post),
        Route("/admin/servers/edit", c.view(c.server_edit), methods=get),
        Route("/admin/servers/save", c.change(c.server_save), methods=post),
        Route("/admin/clients", c.view(c.clients), methods=get),
        Route("/admin/clients/confirm", c.view(c.client_confirm), methods=get),
        Route("/admin/clients/status", c.change(c.client_status), methods=post),
        Route("/admin/users", c.view(c.users), methods=get),
        Route("/admin/users/confirm", c.view(c.user_confirm), methods=get),
        Route("/admin/users/sign-out", c.change(c.user_signout), methods=post),
        Route("/admin/activity", c.view(c.activity), methods=get),
        Route("/admin/activity.jsonl", c.view(c.export_jsonl), methods=get),
        Route("/admin/activity.csv", c.view(c.export_csv), methods=get),
        Route("/admin/activity/{row:int}", c.view(c.activity_row), methods=get),
        Route("/admin/keys", c.view(c.keys), methods=get),
        Route("/admin/keys/stage", c.change(c.key_stage), methods=post),
        Route("/admin/keys/rotate", c.change(c.key_rotate), methods=post),
    ]


__all__ = ["ActivityFilter", "Console", "admin_routes"]
