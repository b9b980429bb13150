"""The reference IdP as a SAML 2.0 IdP, and its SAML -> refresh token exchange (draft §4.5).

- ``GET /saml/metadata``: an ``IDPSSODescriptor`` with the signing certificate.
- ``GET /saml/sso?sp=<SP entity ID>[&RelayState=...]``: SP-initiated sign-in by a simple
  initiation link (no ``AuthnRequest``). After the same login page as OIDC (or with a
  live session), the browser gets an auto-submitting HTML-POST form carrying a
  ``SAMLResponse`` (SAML bindings §3.5) to the SP's ACS URL.
- Assertions are signed RSA-SHA256 with exclusive c14n; NameID format from the
  configuration; attributes ``email`` and ``groups``.
- The signing key and certificate live in the IdP's SQLite (a restart keeps them).
- At ``/token``, ``subject_token_type=...:saml2`` is verified by the hardened
  ``SamlAssertionValidator`` pinned to that certificate; ``requested_token_type=
  ...:refresh_token`` yields a refresh token (``xaa.idp.ProtocolTransition``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from xaa import AuditEvent, format_scope, spec
from xaa.adapters.saml import SamlAssertionValidator, SamlServiceProvider
from xaa.adapters.saml_signer import SamlAssertionSigner, generate_signing_credentials
from xaa.adapters.starlette import HTML_SECURITY_HEADERS
from xaa.idp import (
    IssuedRefreshToken,
    NameIdMap,
    ProtocolTransition,
    RequestedTokenIssuer,
    SamlSubjectValidator,
    Subject,
    SubjectTokenValidator,
)

from .config import IdpConfig
from .pages import error_page
from .saml_config import SamlConfig, SamlServiceProviderConfig
from .store import Session, Store

MEDIA_TYPE_METADATA = "application/samlmetadata+xml"
CERTIFICATE_DAYS = 3650
PENDING_KEY = "saml_sp"
MAX_RELAY_STATE = 80  # bytes, SAML bindings §3.4.3
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS saml_credentials (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " private_key_pem TEXT NOT NULL, certificate_pem TEXT NOT NULL, created_at REAL NOT NULL)"
)

Resume = Callable[[Request, dict[str, Any]], Response]


def signing_credentials(store: Store, common_name: str, now: float) -> tuple[str, str]:
    """The IdP's SAML ``(key_pem, cert_pem)`` from SQLite; created on first use."""
    with store.tx() as db:
        db.execute(SCHEMA)
        row = db.execute(
            "SELECT private_key_pem, certificate_pem FROM saml_credentials WHERE id=1"
        ).fetchone()
        if row is not None:
            return str(row[0]), str(row[1])
        key_pem, cert_pem = generate_signing_credentials(
            common_name, now=now, days=CERTIFICATE_DAYS
        )
        db.execute("INSERT INTO saml_credentials VALUES (1, ?, ?, ?)", (key_pem, cert_pem, now))
    return key_pem, cert_pem


def save_signing_credentials(store: Store, key_pem: str, cert_pem: str, now: float) -> None:
    """Install a given SAML key and certificate (bring your own; tests)."""
    with store.tx() as db:
        db.execute(SCHEMA)
        db.execute(
            "INSERT OR REPLACE INTO saml_credentials VALUES (1, ?, ?, ?)", (key_pem, cert_pem, now)
        )


class SsoRefused(Exception):
    """A ``/saml/sso`` request the IdP refuses; the message is the error page's text."""


class StoreRefreshTokens:
    """:class:`xaa.idp.RefreshTokenIssuer` over the IdP's SQLite refresh tokens."""

    def __init__(self, store: Store, lifetime: int) -> None:
        self.store = store
        self.lifetime = lifetime

    def issue_refresh_token(
        self, *, client_id: str, subject: Subject, scopes: frozenset[str], now: float
    ) -> IssuedRefreshToken:
        token = self.store.issue_refresh_token(
            client_id=client_id,
            sub=subject.sub,
            scope=format_scope(scopes),
            auth_time=subject.auth_time,
            acr=subject.acr,
            amr=subject.amr,
            lifetime=self.lifetime,
            now=now,
            family="saml:" + secrets.token_urlsafe(16),
        )
        return IssuedRefreshToken(token, self.lifetime)


class SamlIdp:
    """Signer, validator and SP registry of the reference IdP's SAML side."""

    def __init__(self, config: IdpConfig, saml: SamlConfig, store: Store, *, now: float) -> None:
        base = config.issuer.rstrip("/")
        self.entity_id = saml.entity_id or f"{base}/saml"
        self.sso_url = f"{base}/saml/sso"
        self.config = saml
        self.store = store
        self.refresh_token_lifetime = config.refresh_token_lifetime
        key_pem, cert_pem = signing_credentials(store, self.entity_id, now)
        self.signer = SamlAssertionSigner(
            idp_entity_id=self.entity_id,
            private_key_pem=key_pem,
            certificate_pem=cert_pem,
            name_id_format=saml.name_id_format_urn,
            lifetime=saml.assertion_lifetime,
        )
        self.service_providers = {sp.entity_id: sp for sp in saml.service_providers}
        self.validator = SamlAssertionValidator(
            idp_entity_id=self.entity_id,
            certificate_pem=cert_pem,
            service_providers=[
                SamlServiceProvider(sp.entity_id, sp.client_id, frozenset(sp.acs_urls))
                for sp in saml.service_providers
            ],
            replay=store,
            clock_skew=saml.clock_skew,
        )
        if saml.name_id_format == "email":
            users = {u.email: u.username for u in config.users if u.email}
            if len(users) != sum(1 for u in config.users if u.email):
                raise ValueError("NameID format email needs unique user emails")
        else:
            users = {u.username: u.username for u in config.users}
        self.users = NameIdMap(users, name_id_format=saml.name_id_format_urn)

    def subject_validators(self) -> dict[str, SubjectTokenValidator]:
        """For ``TokenExchangeEndpoint.subject_validators``."""
        return {spec.TOKEN_TYPE_SAML2: SamlSubjectValidator(self.validator, self.users)}

    def token_issuers(self) -> dict[str, RequestedTokenIssuer]:
        """For ``TokenExchangeEndpoint.token_issuers``: SAML -> refresh token (draft §4.5)."""
        issuer = StoreRefreshTokens(self.store, self.refresh_token_lifetime)
        return {spec.TOKEN_TYPE_REFRESH_TOKEN: ProtocolTransition(issuer)}

    # -- browser side -------------------------------------------------------------------

    def metadata(self) -> Response:
        """SAML metadata §2.4.3."""
        body = self.signer.metadata(
            sso_url=self.sso_url, name_id_formats=(self.config.name_id_format_urn,)
        )
        return Response(
            body, media_type=MEDIA_TYPE_METADATA, headers={"cache-control": "max-age=60"}
        )

    def begin(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The pending sign-in for ``/saml/sso``; raises :class:`SsoRefused` saying why not."""
        sp = self.service_providers.get(params.get("sp", ""))
        if sp is None:
            raise SsoRefused("Unknown SAML service provider.")
        acs = params.get("acs", sp.acs_urls[0])
        if acs not in sp.acs_urls:
            raise SsoRefused("Unknown assertion consumer service URL.")
        if len(params.get("RelayState", "").encode("utf-8")) > MAX_RELAY_STATE:
            raise SsoRefused("RelayState is too long.")
        record = self.store.client_record(sp.client_id)
        if record is None or record.status != "active":
            raise SsoRefused("This service provider is not allowed to sign users in.")
        return {
            "client_id": sp.client_id,
            PENDING_KEY: sp.entity_id,
            "acs": acs,
            "relay_state": params.get("RelayState"),
        }

    @staticmethod
    def is_pending(pending: Mapping[str, Any]) -> bool:
        """Whether a parked sign-in request came from ``/saml/sso``."""
        return PENDING_KEY in pending

    def complete(self, pending: Mapping[str, Any], session: Session, now: float) -> Response:
        """Sign the assertion for the signed-in user and POST it to the SP (HTTP-POST binding)."""
        sp: SamlServiceProviderConfig | None = self.service_providers.get(pending[PENDING_KEY])
        profile = self.store.find_subject(session.sub)
        if sp is None or profile is None:
            return HTMLResponse(error_page("The sign-in cannot be completed."), status_code=400)
        name_id = profile.email if self.config.name_id_format == "email" else session.sub
        if not name_id:
            return HTMLResponse(error_page("This user has no email address."), status_code=400)
        acs = str(pending["acs"])
        assertion = self.signer.sign_assertion(
            name_id=name_id,
            audience=sp.entity_id,
            recipient=acs,
            now=now,
            email=profile.email,
            groups=sorted(profile.groups),
            authn_instant=session.auth_time,
        )
        response = self.signer.response(assertion, destination=acs, now=now)
        self.store.emit(
            AuditEvent(
                time=now,
                event="saml.sso",
                decision="issued",
                issuer=self.entity_id,
                subject=session.sub,
                client_id=sp.client_id,
                audience=sp.entity_id,
            )
        )
        return HTMLResponse(
            post_form(acs, base64.b64encode(response).decode("ascii"), pending.get("relay_state")),
            headers={"cache-control": "no-store", "content-security-policy": POST_FORM_CSP},
        )


_AUTO_SUBMIT = "document.forms[0].submit()"
# The app's CSP (HTML_SECURITY_HEADERS) plus exactly the one inline script below.
POST_FORM_CSP = (
    HTML_SECURITY_HEADERS["content-security-policy"]
    + "; script-src 'sha256-"
    + base64.b64encode(hashlib.sha256(_AUTO_SUBMIT.encode()).digest()).decode("ascii")
    + "'"
)


def post_form(acs: str, saml_response: str, relay_state: str | None) -> str:
    """The HTTP-POST binding page (SAML bindings §3.5.4): submits itself to the ACS."""
    relay = (
        f'<input type="hidden" name="RelayState" value="{escape(relay_state)}">'
        if relay_state
        else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Signing in</title></head>"
        "<body>"
        f'<form method="post" action="{escape(acs)}">'
        f'<input type="hidden" name="SAMLResponse" value="{escape(saml_response)}">{relay}'
        '<button type="submit">Continue</button></form>'
        f"<script>{_AUTO_SUBMIT}</script></body></html>"
    )


def saml_routes(saml: SamlIdp, *, resume: Resume) -> list[Route]:
    """``/saml/metadata`` and ``/saml/sso``; ``resume(request, pending)`` shows the login
    page or, with a live session, completes at once (the app owns sessions)."""

    async def metadata(request: Request) -> Response:
        return saml.metadata()

    async def sso(request: Request) -> Response:
        params = {k: request.query_params.get(k) for k in ("sp", "acs", "RelayState")}
        if any(len(request.query_params.getlist(k)) > 1 for k in params):
            return HTMLResponse(error_page("A parameter is repeated."), status_code=400)
        try:
            pending = saml.begin({k: v for k, v in params.items() if v})
        except SsoRefused as exc:
            return HTMLResponse(error_page(str(exc)), status_code=400)
        return resume(request, pending)

    return [
        Route("/saml/metadata", metadata, methods=["GET"]),
        Route("/saml/sso", sso, methods=["GET"]),
    ]


def build_saml(config: IdpConfig, store: Store, now: float | None = None) -> SamlIdp | None:
    """The SAML side when the configuration has a ``[saml]`` table."""
    if config.saml is None:
        return None
    return SamlIdp(config, config.saml, store, now=time.time() if now is None else now)
