"""SAML starting credentials for ``xaa token`` (draft §4.5): an assertion file, or a demo login.

- :func:`read_assertion_file`: a file holding the assertion XML (``<saml2:Assertion ...>``)
  or the base64 ``SAMLResponse`` an ACS received; returns the encoded ``subject_token``.
- :func:`login_with_saml`: signs a user in at the reference IdP's ``/saml/sso`` the way a
  browser would (login form, then the HTTP-POST binding page) and returns the
  ``SAMLResponse`` meant for the SP's ACS: for demos and tests only.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx

from ..adapters.saml import assertion_from_response, encode_subject_token
from ..client.http import require_same_origin
from ..errors import ProtocolViolation
from .token import _LoginForm

__all__ = ["SamlLogin", "login_with_saml", "read_assertion_file"]


def read_assertion_file(path: Path) -> str:
    """The ``subject_token`` for the assertion in ``path`` (XML, or a base64 SAMLResponse)."""
    text = path.read_text("utf-8").strip()
    if text.startswith("<"):
        return encode_subject_token(text.encode("utf-8"))
    return encode_subject_token(assertion_from_response(text))


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
        return encode_subject_token(assertion_from_response(self.saml_response))


def login_with_saml(
    http: httpx.Client, idp_issuer: str, sp_entity_id: str, username: str, password: str
) -> SamlLogin:
    """Sign ``username`` in at ``/saml/sso?sp=...`` through the HTML login form; demo only."""
    start = f"{idp_issuer.rstrip('/')}/saml/sso?{urlencode({'sp': sp_entity_id})}"
    page = http.get(start, follow_redirects=False)
    if page.status_code != 200:
        raise ProtocolViolation("saml-login", f"the SSO page answered HTTP {page.status_code}")
    form = _LoginForm()
    form.feed(page.text)
    if "SAMLResponse" not in form.fields:  # no live session: the login page
        action = urljoin(str(page.url), form.action) if form.action else str(page.url)
        require_same_origin(action, idp_issuer)
        fields = {**form.fields, "username": username, "password": password}
        page = http.post(action, data=fields, follow_redirects=False)
        if page.status_code != 200:
            raise ProtocolViolation("saml-login", f"sign-in failed (HTTP {page.status_code})")
        form = _LoginForm()
        form.feed(page.text)
    response = form.fields.get("SAMLResponse")
    if not response or not form.action:
        raise ProtocolViolation("saml-login", "the IdP did not answer with a SAMLResponse")
    return SamlLogin(form.action, response, form.fields.get("RelayState"))
