"""Obtain an ID token by signing in through an IdP's HTML login form (``--login USER:PASSWORD``).

Authorization code flow with PKCE S256 (RFC 7636): GET the authorization
endpoint, fill the first form's text and password inputs, submit, follow
redirects on the IdP's origin until one goes to ``redirect_uri`` (never fetched),
then redeem the code at the token endpoint. Works with simple one-page login forms.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from xaa import pkce, spec
from xaa._forms import encode_form
from xaa.adapters.httpx_login import LoginForm

from ._registry import CaseFailed

ClientAuth = Callable[[dict[str, str | list[str]]], dict[str, str]]


def _fill(page: str, username: str, password: str) -> tuple[str, dict[str, str]]:
    parser = LoginForm()
    parser.feed(page)
    if parser.action is None:
        raise CaseFailed("the authorization endpoint showed no login form")
    form: dict[str, str] = {}
    for field in parser.inputs:
        name, kind = field["name"], field.get("type", "text").lower()
        if kind == "password":
            form[name] = password
        elif kind in ("text", "email", ""):
            form[name] = username
        elif kind == "hidden":
            form[name] = field.get("value", "")
    return parser.action, form


def login_tokens(
    http: httpx.Client,
    metadata: dict[str, Any],
    *,
    client_id: str,
    client_auth: ClientAuth,
    redirect_uri: str,
    username: str,
    password: str,
    scope: str = "openid email",
) -> dict[str, Any]:
    """Sign in as ``username`` (authorization code with PKCE); the token response, which
    has an ``id_token`` (and, if the IdP issued one, a ``refresh_token``)."""
    authorize, token = (
        metadata.get(spec.M_AUTHORIZATION_ENDPOINT),
        metadata.get(spec.M_TOKEN_ENDPOINT),
    )
    if not isinstance(authorize, str) or not isinstance(token, str):
        raise CaseFailed("the IdP metadata lacks authorization_endpoint or token_endpoint")
    verifier, challenge = pkce.new_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = http.get(authorize, params=params)
    if page.status_code in (302, 303):
        response = page  # still signed in (the IdP's session cookie): straight back with a code
    else:
        action, form = _fill(page.text, username, password)
        response = http.post(
            urljoin(str(page.url), action),
            content=encode_form(form),
            headers={"content-type": spec.MEDIA_TYPE_FORM},
        )
    origin = urlsplit(authorize).netloc
    for _ in range(5):
        location = response.headers.get("location")
        if response.status_code not in (302, 303) or location is None:
            raise CaseFailed(f"login did not redirect (HTTP {response.status_code})")
        target = urljoin(str(response.url), location)
        if target.startswith(redirect_uri):
            break
        if urlsplit(target).netloc != origin:
            raise CaseFailed("login redirected off the IdP's origin")
        response = http.get(target)
    else:
        raise CaseFailed("login redirected too many times")
    code = parse_qs(urlsplit(target).query).get("code", [""])[0]
    if not code:
        raise CaseFailed("the login redirect carries no code")
    body: dict[str, str | list[str]] = {
        "grant_type": spec.GRANT_AUTHORIZATION_CODE,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"content-type": spec.MEDIA_TYPE_FORM, **client_auth(body)}
    answer = http.post(token, content=encode_form(body), headers=headers)
    tokens = answer.json() if answer.status_code == 200 else {}
    if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
        raise CaseFailed(f"the code exchange returned no id_token (HTTP {answer.status_code})")
    return tokens
