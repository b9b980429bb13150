"""Deliberately broken variants of the IdP's token exchange, each disabling one check.

They prove that the conformance suite can fail (docs/conformance.md): each overrides ONE
public step of :class:`~xaa.idp.TokenExchangeEndpoint`, and the tests pass the class to
``reference_idp.app.create_app(..., endpoint_type=...)``. They live under ``tests/`` only:
nothing installed can switch a check off.
"""

from __future__ import annotations

import json
from dataclasses import replace

from xaa import (
    AuthenticatedClient,
    HttpResponse,
    IdJagClaims,
    InvalidRequest,
    issue_jwt,
    json_response,
    parse_compact,
    spec,
)
from xaa.idp import ExchangeRequest, Grant, Subject, TokenExchangeEndpoint


class BearerTokenType(TokenExchangeEndpoint):
    """``token-type``: the response says ``token_type`` ``Bearer`` instead of ``N_A``."""

    def respond(self, request: ExchangeRequest, grant: Grant, token: str) -> HttpResponse:
        body = json.loads(super().respond(request, grant, token).body)
        return json_response(200, {**body, spec.R_TOKEN_TYPE: spec.TOKEN_TYPE_BEARER})


class IssuesRefreshToken(TokenExchangeEndpoint):
    """``refresh-token``: the response carries a refresh token (draft §4.3.4)."""

    def respond(self, request: ExchangeRequest, grant: Grant, token: str) -> HttpResponse:
        body = json.loads(super().respond(request, grant, token).body)
        return json_response(200, {**body, spec.R_REFRESH_TOKEN: "test-only-broken-refresh"})


class AnyIdTokenAudience(TokenExchangeEndpoint):
    """``subject-aud``: an ID token issued to another client is validated as if the
    authenticated client were its audience."""

    def validate_subject(
        self, request: ExchangeRequest, client: AuthenticatedClient, now: float
    ) -> Subject:
        if request.subject_token_type == spec.TOKEN_TYPE_ID_TOKEN:
            aud = parse_compact(request.subject_token, error=InvalidRequest).payload.get("aud")
            first = aud[0] if isinstance(aud, list) and aud else aud
            if isinstance(first, str):
                client = replace(client, client_id=first)
        return super().validate_subject(request, client, now)


class AnyRefreshTokenClient(TokenExchangeEndpoint):
    """``refresh-client``: a refresh token issued to another client is validated as if the
    authenticated client held it."""

    def validate_subject(
        self, request: ExchangeRequest, client: AuthenticatedClient, now: float
    ) -> Subject:
        if request.subject_token_type == spec.TOKEN_TYPE_REFRESH_TOKEN and self.refresh_tokens:
            grant = self.refresh_tokens.find_refresh_token(request.subject_token)
            if grant is not None:
                client = replace(client, client_id=grant.client_id)
        return super().validate_subject(request, client, now)


class JwtTyp(TokenExchangeEndpoint):
    """``typ``: the ID-JAG is signed with ``typ`` ``JWT`` instead of ``oauth-id-jag+jwt``."""

    def issue(self, claims: IdJagClaims) -> str:
        return issue_jwt(claims, self.keys.current, typ=spec.TYP_JWT)


BROKEN: dict[str, type[TokenExchangeEndpoint]] = {
    "token-type": BearerTokenType,
    "refresh-token": IssuesRefreshToken,
    "subject-aud": AnyIdTokenAudience,
    "refresh-client": AnyRefreshTokenClient,
    "typ": JwtTyp,
}


def endpoint_class(rule: str | None) -> type[TokenExchangeEndpoint]:
    """The endpoint class with the check named ``rule`` disabled (the library's when None)."""
    return TokenExchangeEndpoint if rule is None else BROKEN[rule]
