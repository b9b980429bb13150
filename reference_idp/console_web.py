"""The web plumbing of the admin console: templates, security headers, CSRF, bounded forms.

Every page: Jinja2 with autoescape, ``Content-Security-Policy`` with
``frame-ancestors 'none'``, ``X-Frame-Options: DENY``, ``no-store``. Every change is
a POST carrying a CSRF token bound to the admin session, from this origin
(``Origin``/``Sec-Fetch-Site`` checked). Every form field is bounded; a bad value is
a :class:`BadInput` (a 400 page), never a 500 (docs/console.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from xaa import OAuthError, parse_form
from xaa.adapters.starlette import read_form_body

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
MAX_FIELD = 200
MAX_TEXT = 4000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+~=-]{0,199}")


class BadInput(Exception):
    """A form or query value the console refuses (a 400 page naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


ENV = Environment(
    loader=PackageLoader("reference_idp", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def secure(response: Response) -> Response:
    """``response`` with the console's security headers."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def page(template: str, status: int = 200, **context: Any) -> Response:
    """Render ``template`` (autoescaped) as a secured HTML response."""
    html = ENV.get_template(template).render(**context)
    return secure(HTMLResponse(html, status_code=status))


def text(value: str | None, field: str, *, limit: int = MAX_FIELD, required: bool = False) -> str:
    """A bounded single-line value without control characters."""
    value = (value or "").strip()
    if required and not value:
        raise BadInput(field, "is required")
    if len(value) > limit:
        raise BadInput(field, f"is longer than {limit} characters")
    if any(ord(c) < 32 and c not in "\r\n\t" for c in value) or "\x7f" in value:
        raise BadInput(field, "has control characters")
    if limit <= MAX_FIELD and any(c in value for c in "\r\n"):
        raise BadInput(field, "must be one line")
    return value


def name(value: str | None, field: str, *, required: bool = False) -> str:
    """An identifier: client id, username, group, scope, URL or URN (no spaces)."""
    value = text(value, field, required=required)
    if value and not _NAME.fullmatch(value):
        raise BadInput(field, "has characters that are not allowed")
    return value


def names(value: str | None, field: str, *, limit: int = 32) -> list[str]:
    """Space- or comma-separated identifiers (deduplicated, order kept)."""
    raw = text(value, field, limit=MAX_TEXT).replace(",", " ").split()
    if len(raw) > limit:
        raise BadInput(field, f"has more than {limit} entries")
    return list(dict.fromkeys(name(item, field) for item in raw))


def single_query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The query parameters: known names only, each at most once."""
    out: dict[str, str] = {}
    for key in request.query_params:
        if key not in allowed:
            raise BadInput(key[:40], "is not a known parameter")
        values = request.query_params.getlist(key)
        if len(values) > 1:
            raise BadInput(key, "is repeated")
        out[key] = values[0]
    return out


async def read_form(request: Request) -> dict[str, str]:
    """A bounded urlencoded form; a repeated or oversized field is :class:`BadInput`."""
    try:
        form = parse_form(await read_form_body(request), repeatable=())
    except OAuthError as exc:
        raise BadInput("form", exc.detail or exc.error) from None
    return {k: form.get(k) or "" for k in form}


def same_origin(request: Request, issuer: str) -> bool:
    """False for a cross-site request (``Origin`` another origin, or ``Sec-Fetch-Site``
    ``cross-site``/``same-site``); a request without either is judged by its CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = urlsplit(issuer)
    return origin == f"{own.scheme}://{own.netloc}"


def csrf_token(key: bytes, session_id: str) -> str:
    """The CSRF token of one admin session (HMAC of its id)."""
    return hmac.new(key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, session_id: str, form: Mapping[str, str]) -> bool:
    """True when ``form`` carries the session's CSRF token."""
    return hmac.compare_digest(form.get("csrf_token", ""), csrf_token(key, session_id))
