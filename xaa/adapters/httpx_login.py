"""Sign a user in at an IdP the way a browser would, over httpx: for demos and tests.

- :func:`login_with_password`: OIDC authorization code flow with PKCE (RFC 7636)
  through the IdP's HTML login form; returns an :class:`~xaa.client.IdentitySession`
  with the ID token (and refresh token, if the IdP gave one).
- :func:`login_with_saml`: the reference IdP's ``/saml/sso`` (login form, then the
  HTTP-POST binding page); returns the ``SAMLResponse`` meant for the SP's ACS
  (draft §4.5).

A real application signs users in with its own OIDC or SAML stack; these helpers
fill in simple one-page login forms only.
"""

from __future__ import annotations

import functools
import secrets
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from ._extras import missing_extra

try:
    import httpx

    from .. import pkce, rules, spec
    from .._errors import ProtocolViolation, SignInFailed
    from .._forms import encode_form
    from ..client import (
        HOP_TOKEN_REQUEST,
        ClientCredentials,
        IdentitySession,
        MetadataCache,
        discover_authorization_server,
        run_sync,
    )
    from ..client._http import Request, display_url, require_same_origin
    from ..client._requests import raise_for_refusal
    from .httpx_client import send as http_send
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "client", exc) from None

__all__ = ["LoginForm", "SamlLogin", "login_with_password", "login_with_saml"]

# A login form answering these refused the credentials: a wrong username or password.
_REFUSED = frozenset({400, 401, 403})


class LoginForm(HTMLParser):
    """The first ``<form>`` of a page: its action, its named input fields (name to value)
    and ``inputs``, the attributes of each named input in order (``type`` included)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.inputs: list[dict[str, str]] = []
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form, self.action = True, attributes.get("action", "")
        elif tag == "input" and self._in_form and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")
            self.inputs.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def _login_page(
    http: httpx.Client, url: str, rule: str, what: str, refused_hint: str
) -> httpx.Response:
    """GET the IdP page at ``url`` (no redirects followed); it must answer 200. A 400 is
    the IdP refusing the request itself: ``refused_hint`` says what to check."""
    page = http.get(url, follow_redirects=False)
    if page.status_code != 200:
        hint = f" ({refused_hint})" if page.status_code == 400 else ""
        raise ProtocolViolation(
            rule, f"the {what} page at {display_url(url)} answered HTTP {page.status_code}{hint}"
        )
    return page


def _form(page: httpx.Response) -> LoginForm:
    form = LoginForm()
    form.feed(page.text)
    return form


def _submit_login(
    http: httpx.Client, page: httpx.Response, form: LoginForm, idp_issuer: str,
    username: str, password: str,
) -> httpx.Response:  # fmt: skip
    """Post ``username`` and ``password`` with the form's other fields to its action, on the
    IdP's origin only; the IdP answering 400, 401 or 403 is :class:`~xaa.SignInFailed`."""
    action = urljoin(str(page.url), form.action) if form.action else str(page.url)
    require_same_origin(action, idp_issuer)
    fields = {**form.fields, "username": username, "password": password}
    answer = http.post(action, data=fields, follow_redirects=False)
    if answer.status_code in _REFUSED:
        raise SignInFailed(
            f"the IdP at {display_url(idp_issuer)} refused the sign-in of {username!r} "
            f"(HTTP {answer.status_code}): wrong username or password?"
        )
    return answer


def login_with_password(
    http: httpx.Client,
    idp_issuer: str,
    credentials: ClientCredentials,
    username: str,
    password: str,
    redirect_uri: str,
) -> IdentitySession:
    """Sign ``username`` in at the IdP's login form (OIDC code flow with PKCE); demo only.

    Returns the session with the ID token (and refresh token, if the IdP gave one).
    Raises :class:`~xaa.SignInFailed` when the form refuses the password, and
    :class:`~xaa.client.TokenRequestRefused` (``hop`` ``token-request``, ``issuer`` the
    IdP) when the IdP's token endpoint refuses the authorization code.
    """
    send = functools.partial(http_send, http)
    meta = run_sync(
        discover_authorization_server(idp_issuer, MetadataCache(), 0.0, require=None), send
    )
    if meta.authorization_endpoint is None or meta.token_endpoint is None:
        raise ProtocolViolation(rules.AS_METADATA, "the IdP has no authorization or token endpoint")
    require_same_origin(meta.token_endpoint, idp_issuer)
    verifier, challenge = pkce.new_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": credentials.client_id,
        "scope": "openid offline_access",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "redirect_uri": redirect_uri,
    }
    authorize_url = f"{meta.authorization_endpoint}?{urlencode(params)}"
    hint = f"is client {credentials.client_id!r} with this redirect URI registered at the IdP?"
    page = _login_page(http, authorize_url, rules.LOGIN, "authorize", hint)
    answer = _submit_login(http, page, _form(page), idp_issuer, username, password)
    location = answer.headers.get("location")
    if answer.status_code not in (302, 303) or not location:
        raise ProtocolViolation(rules.LOGIN, f"sign-in failed (HTTP {answer.status_code})")
    query = parse_qs(urlsplit(location).query)
    if query.get("state") != [state] or "code" not in query:
        raise ProtocolViolation(rules.LOGIN, "the IdP did not return a code for our state")
    if "iss" in query and query["iss"] != [idp_issuer]:  # RFC 9207 §2.4
        raise ProtocolViolation(rules.LOGIN, "the authorization response names another issuer")
    token_form: dict[str, str | list[str]] = {
        spec.P_GRANT_TYPE: spec.GRANT_AUTHORIZATION_CODE,
        spec.P_CODE: query["code"][0],
        spec.P_CODE_VERIFIER: verifier,
        spec.P_REDIRECT_URI: redirect_uri,
    }
    headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
    credentials.apply(token_form, headers, issuer=idp_issuer, now=time.time())
    response = send(Request("POST", meta.token_endpoint, headers, encode_form(token_form)))
    body = raise_for_refusal(response, hop=HOP_TOKEN_REQUEST, issuer=idp_issuer)
    id_token, refresh = body.get("id_token"), body.get("refresh_token")
    if not isinstance(id_token, str):
        raise ProtocolViolation(rules.LOGIN, "the IdP returned no ID token")
    return IdentitySession(
        id_token=id_token, refresh_token=refresh if isinstance(refresh, str) else None
    )


class SamlLogin:
    """What the IdP's HTTP-POST binding page carries: the ACS URL and the SAMLResponse."""

    def __init__(self, acs: str, saml_response: str, relay_state: str | None) -> None:
        self.acs = acs
        self.saml_response = saml_response
        self.relay_state = relay_state

    def __repr__(self) -> str:
        return f"SamlLogin(acs={self.acs!r})"

    def subject_token(self) -> str:
        """The one assertion of the response, encoded as a ``saml2`` subject token."""
        from .saml import assertion_from_response, encode_subject_token

        return encode_subject_token(assertion_from_response(self.saml_response))


def login_with_saml(
    http: httpx.Client, idp_issuer: str, sp_entity_id: str, username: str, password: str
) -> SamlLogin:
    """Sign ``username`` in at ``/saml/sso?sp=...`` through the HTML login form; demo only."""
    start = f"{idp_issuer.rstrip('/')}/saml/sso?{urlencode({'sp': sp_entity_id})}"
    hint = f"is {sp_entity_id!r} a service provider the IdP knows?"
    page = _login_page(http, start, rules.SAML_LOGIN, "SSO", hint)
    form = _form(page)
    if "SAMLResponse" not in form.fields:  # no live session: the login page
        page = _submit_login(http, page, form, idp_issuer, username, password)
        if page.status_code != 200:
            raise ProtocolViolation(rules.SAML_LOGIN, f"sign-in failed (HTTP {page.status_code})")
        form = _form(page)
    response = form.fields.get("SAMLResponse")
    if not response or not form.action:
        raise ProtocolViolation(rules.SAML_LOGIN, "the IdP did not answer with a SAMLResponse")
    return SamlLogin(form.action, response, form.fields.get("RelayState"))
