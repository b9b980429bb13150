"""Protocol transition (draft §4.5): a SAML assertion exchanged for a refresh token.

A token exchange with ``requested_token_type=urn:ietf:params:oauth:token-type:refresh_token``
and ``subject_token_type=...:saml2`` returns a refresh token of the IdP for the
assertion's user; the client later presents it as ``subject_token`` for ID-JAGs
(draft §4.3). Rules, each one :class:`~xaa.OAuthError`:

- ``grant_type`` token exchange (``unsupported_grant_type``); ``subject_token`` and
  ``subject_token_type`` present, the type accepted here (``invalid_request``);
- no ``audience`` or ``resource``: the refresh token is the client's own (``invalid_target``);
  no ``authorization_details`` or ``actor_token`` (``invalid_request``);
- ``scope`` holds ``openid offline_access`` (draft §4.5 SHOULD, required here) and only
  scopes of :attr:`ProtocolTransition.allowed_scopes` (``invalid_scope``);
- the subject token is validated by the endpoint's validator for its type (SAML: the
  ``Audience`` maps to the authenticated client, draft §4.5 MUST);
- response as the draft §4.5 example: ``issued_token_type`` refresh_token, ``token_type``
  ``N_A``, ``scope``, ``expires_in``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .. import spec
from .._audit import AuditEvent
from .._client_auth import AuthenticatedClient
from .._errors import (
    HttpResponse,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    UnsupportedGrantType,
    json_response,
)
from .._forms import Form, format_scope, parse_scope, required_param
from .._models import TokenExchangeResponse
from ._policy import Subject
from ._token_exchange import ExchangeRequest, TokenExchangeEndpoint

__all__ = [
    "OIDC_SCOPES",
    "REQUIRED_SCOPES",
    "IssuedRefreshToken",
    "ProtocolTransition",
    "RefreshTokenIssuer",
]

REQUIRED_SCOPES = frozenset({"openid", "offline_access"})
OIDC_SCOPES = frozenset({"openid", "offline_access", "email", "profile"})
AUDIT_EVENT = "token_exchange.refresh_token"


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    """A refresh token just issued, and its lifetime in seconds."""

    token: str = field(repr=False)
    expires_in: int


@runtime_checkable
class RefreshTokenIssuer(Protocol):
    """Issues (and stores) a refresh token of this IdP; the token endpoint's
    :class:`~xaa.idp.RefreshTokenStore` must later find it."""

    def issue_refresh_token(
        self, *, client_id: str, subject: Subject, scopes: frozenset[str], now: float
    ) -> IssuedRefreshToken:
        """A fresh refresh token for ``subject``, bound to ``client_id``."""
        ...


@dataclass
class ProtocolTransition:
    """The ``refresh_token`` requested token type of :class:`TokenExchangeEndpoint`
    (register it in ``token_issuers``); draft §4.5."""

    refresh_tokens: RefreshTokenIssuer
    allowed_scopes: frozenset[str] = OIDC_SCOPES
    subject_token_types: frozenset[str] = frozenset({spec.TOKEN_TYPE_SAML2})

    def issue_requested_token(
        self,
        endpoint: TokenExchangeEndpoint,
        headers: Mapping[str, str],
        form: Form,
        client: AuthenticatedClient,
        now: float,
    ) -> HttpResponse:
        """Check the request, validate the assertion, issue and audit the refresh token."""
        request = self.check_request(form)
        endpoint.check_proof(headers, now)  # RFC 9449 §5: not bound, the client authenticates
        subject = endpoint.validate_subject(request, client, now)
        issued = self.refresh_tokens.issue_refresh_token(
            client_id=client.client_id, subject=subject, scopes=request.scopes, now=now
        )
        scope = format_scope(request.scopes)
        endpoint.audit.emit(
            AuditEvent(
                time=now,
                event=AUDIT_EVENT,
                decision="issued",
                issuer=endpoint.issuer,
                subject=subject.sub,
                client_id=client.client_id,
                audience=client.client_id,
                requested_scope=form.get(spec.P_SCOPE),
                granted_scope=scope,
                extra={"subject_token_type": request.subject_token_type},
            )
        )
        body = TokenExchangeResponse(
            access_token=issued.token,
            issued_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN,
            token_type=spec.TOKEN_TYPE_N_A,
            scope=scope,
            expires_in=issued.expires_in,
        )
        return json_response(200, body.to_json())

    def check_request(self, form: Form) -> ExchangeRequest:
        """Grant type, subject token, no audience, and the scope rules (draft §4.5)."""
        if required_param(form, spec.P_GRANT_TYPE) != spec.GRANT_TOKEN_EXCHANGE:
            raise UnsupportedGrantType(detail="not token exchange")
        subject_token = required_param(form, spec.P_SUBJECT_TOKEN)
        subject_token_type = required_param(form, spec.P_SUBJECT_TOKEN_TYPE)
        if subject_token_type not in self.subject_token_types:
            raise InvalidRequest(detail="subject_token_type cannot yield a refresh token")
        if form.all(spec.P_AUDIENCE) or form.all(spec.P_RESOURCE):
            raise InvalidTarget(detail="a refresh token has no audience or resource")
        for name in (spec.P_AUTHORIZATION_DETAILS, spec.P_ACTOR_TOKEN, spec.P_ACTOR_TOKEN_TYPE):
            if name in form:
                raise InvalidRequest(detail=f"{name} not accepted for a refresh token")
        scopes = parse_scope(form.get(spec.P_SCOPE))
        if not scopes >= REQUIRED_SCOPES:
            raise InvalidScope(detail="scope must hold openid offline_access")
        if not scopes <= self.allowed_scopes:
            raise InvalidScope(detail="scope beyond what a refresh token may carry")
        return ExchangeRequest(
            audience="",  # a refresh token is the client's own: no audience
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            scopes=scopes,
            resources=(),
            authorization_details=None,
        )
