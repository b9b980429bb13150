"""Request builders and response processors for both legs (draft §4.3, §4.4).

Each call is a pair: build the request, process the response. A processor
checks everything docs/security.md lists for the client and raises
:class:`~xaa.ProtocolViolation` (with a rule name) when the peer
misbehaves, :class:`~xaa.client.StepUpRequired` or
:class:`~xaa.client.PolicyDenied` for those errors, and the
:class:`~xaa.OAuthError` rebuilt by :func:`xaa.error_from_response`
for any other error body. The flow calls :func:`raise_for_refusal` first, which
raises :class:`~xaa.client.TokenRequestRefused` naming the hop instead.

``token_type`` ``N_A`` is compared exactly (RFC 8693 §2.2.1 defines the value
``N_A``); ``Bearer``/``DPoP`` case-insensitively (RFC 6749 §5.1). The ID-JAG is
decoded without verification (the client need not hold the IdP's keys); when
``idp_keys`` is given its signature is verified too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from .. import rules, spec
from .._errors import HttpResponse, InvalidGrant, OAuthError, ProtocolViolation, error_from_response
from .._forms import encode_form, format_scope, parse_scope
from .._jose import parse_compact
from .._keys import JwkSet
from .._models import AuthorizationDetail, IdJagClaims, TokenExchangeRequest, TokenResponse
from .._tokens import ID_JAG, client_id_ok, verify_id_jag
from ._auth import ClientCredentials
from ._errors import (
    HOP_RESOURCE_AS,
    POLICY_DENIAL_CODES,
    PolicyDenied,
    StepUpRequired,
    TokenRequestRefused,
)
from ._http import Request, display_url, json_body, origin

DEFAULT_ACCESS_TOKEN_LIFETIME = 60
MAX_DESCRIPTION_CHARS = 200
_NOT_DESCRIPTION_CHARS = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")  # RFC 6749 §5.2


class DpopProver(Protocol):
    """Seam for RFC 9449 proofs (``xaa._dpop``): the key thumbprint and a proof per request."""

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint of the proof key (``cnf.jkt``)."""
        ...

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A fresh DPoP proof JWT for ``method`` ``url`` (with ``ath`` for ``access_token``)."""
        ...


@dataclass(frozen=True, slots=True)
class IdJag:
    """An ID-JAG the IdP issued to us, with its (unverified unless keys were given) claims."""

    token: str = field(repr=False)
    claims: IdJagClaims
    scope: frozenset[str]

    def valid(self, now: float, skew: float) -> bool:
        """True while the ID-JAG is more than ``skew`` seconds from expiry."""
        return now + skew < self.claims.exp


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token from the resource AS (draft §4.4.2).

    ``scopes`` is what the AS granted (also :attr:`granted_scopes`);
    ``requested_scopes`` what the caller asked for, ``id_jag_scopes`` what the IdP
    granted in the ID-JAG (``None`` when unknown). The IdP may narrow a request
    (draft §4.3.3) and the AS may narrow the ID-JAG's scope (draft §4.4.1), so the
    two can differ; :attr:`declined_scopes` is the difference,
    :attr:`idp_declined_scopes` the IdP's part of it.
    """

    token: str = field(repr=False)
    token_type: str
    expires_at: float
    scopes: frozenset[str]
    resource: str | None
    issuer: str
    requested_scopes: frozenset[str] = frozenset()
    id_jag_scopes: frozenset[str] | None = None

    @property
    def idp_declined_scopes(self) -> frozenset[str]:
        """Requested, not in the ID-JAG: what the IdP narrowed away (draft §4.3.3); the
        rest of :attr:`declined_scopes` the resource AS declined (draft §4.4.1)."""
        if self.id_jag_scopes is None:
            return frozenset()
        return self.requested_scopes - self.id_jag_scopes

    @property
    def granted_scopes(self) -> frozenset[str]:
        """The scopes the resource AS granted (RFC 6749 §5.1)."""
        return self.scopes

    @property
    def declined_scopes(self) -> frozenset[str]:
        """Requested, not granted: narrowed away by the IdP or the resource AS."""
        return self.requested_scopes - self.scopes

    def valid(self, now: float, skew: float) -> bool:
        """True while the token is more than ``skew`` seconds from expiry."""
        return now + skew < self.expires_at

    def authorization(self) -> str:
        """The ``Authorization`` header value (RFC 6750 §2.1, RFC 9449 §7.1)."""
        scheme = spec.TOKEN_TYPE_DPOP if self.token_type.lower() == "dpop" else "Bearer"
        return f"{scheme} {self.token}"


def _token_request(
    endpoint: str,
    form: dict[str, str | list[str]],
    credentials: ClientCredentials,
    *,
    issuer: str,
    now: float,
    dpop: DpopProver | None,
    dpop_nonce: str | None = None,
) -> Request:
    headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
    credentials.apply(form, headers, issuer=issuer, now=now, grant_request=True)
    if dpop is not None:
        headers[spec.H_DPOP] = dpop.proof("POST", endpoint, nonce=dpop_nonce)
    return Request("POST", endpoint, headers, encode_form(form))


def token_exchange_request(
    endpoint: str,
    credentials: ClientCredentials,
    *,
    idp_issuer: str,
    audience: str,
    subject_token: str,
    subject_token_type: str = spec.TOKEN_TYPE_ID_TOKEN,
    resource: Sequence[str] = (),
    scope: frozenset[str] = frozenset(),
    authorization_details: Sequence[AuthorizationDetail] | None = None,
    actor_token: str | None = None,
    actor_token_type: str | None = None,
    now: float,
    dpop: DpopProver | None = None,
    dpop_nonce: str | None = None,
) -> Request:
    """RFC 8693 §2.1 request for an ID-JAG at the IdP (draft §4.3); with ``dpop``, a proof
    (carrying ``dpop_nonce`` when the IdP asked for one, RFC 9449 §8)."""
    message = TokenExchangeRequest(
        audience=audience,
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        resource=list(resource),
        scope=format_scope(scope) or None,
        authorization_details=list(authorization_details) if authorization_details else None,
        actor_token=actor_token,
        actor_token_type=actor_token_type,
    )
    return _token_request(
        endpoint,
        message.to_form(),
        credentials,
        issuer=idp_issuer,
        now=now,
        dpop=dpop,
        dpop_nonce=dpop_nonce,
    )


def jwt_bearer_request(
    endpoint: str,
    credentials: ClientCredentials,
    *,
    as_issuer: str,
    assertion: IdJag,
    scope: frozenset[str] = frozenset(),
    resource: str | None = None,
    now: float,
    dpop: DpopProver | None = None,
    dpop_nonce: str | None = None,
) -> Request:
    """RFC 7523 §2.1 access token request presenting the ID-JAG (draft §4.4).

    The ID-JAG must have passed :func:`process_token_exchange_response` for
    this AS and these credentials; it is checked again here before it leaves.
    """
    check_id_jag_target(assertion.claims, audience=as_issuer, client_id=credentials.client_id)
    form: dict[str, str | list[str]] = {
        spec.P_GRANT_TYPE: spec.GRANT_JWT_BEARER,
        spec.P_ASSERTION: assertion.token,
    }
    if scope:
        form[spec.P_SCOPE] = format_scope(scope)
    if resource:
        form[spec.P_RESOURCE] = resource
    return _token_request(
        endpoint, form, credentials, issuer=as_issuer, now=now, dpop=dpop, dpop_nonce=dpop_nonce
    )


def raise_for_error(response: HttpResponse, *, where: str) -> dict[str, Any]:
    """Raise what a non-200 token response means; on 200 without an error member, return
    the body (one JSON object, parsed once)."""
    if 300 <= response.status < 400:
        raise ProtocolViolation(rules.NO_REDIRECTS, f"{where} answered with a redirect")
    body = json_body(response, rules.ERROR_RESPONSE)
    if response.status == 200:
        if spec.R_ERROR in body:
            raise ProtocolViolation(rules.ERROR_IN_SUCCESS, f"{where} sent an error body with 200")
        return body
    error = error_from_response(response.status, body)
    if error.error == "insufficient_user_authentication":
        raise StepUpRequired(_int_or_none(body.get(spec.R_MAX_AGE)), _str(body, spec.R_ACR_VALUES))
    if error.error in POLICY_DENIAL_CODES:
        raise PolicyDenied(error.error, response.status, _description(body), where)
    raise error


def raise_for_refusal(
    response: HttpResponse, *, hop: str, issuer: str, endpoint: str | None = None
) -> dict[str, Any]:
    """:func:`raise_for_error` for one hop of the flow: an error body raises
    :class:`TokenRequestRefused` (:class:`PolicyDenied` for policy codes) naming ``hop``
    and the server's ``issuer`` (and ``endpoint``, the URL that answered, when it is off
    the issuer's origin), with its ``error_description`` (RFC 6749 §5.2 characters only,
    at most 200); a success returns the body."""
    where = "authorization server" if hop == HOP_RESOURCE_AS else "IdP"
    if endpoint is not None and origin(endpoint) == origin(issuer):
        endpoint = None  # the issuer names the server well enough
    shown = display_url(endpoint) if endpoint is not None else None
    named = {"hop": hop, "issuer": issuer, "endpoint": shown}
    try:
        return raise_for_error(response, where=where)
    except PolicyDenied as denied:
        raise PolicyDenied(
            denied.error, denied.status, denied.description, where, **named
        ) from None
    except OAuthError as exc:
        described = _description(json_body(response, rules.ERROR_RESPONSE))
        raise TokenRequestRefused(exc.error, response.status, described, **named) from exc


def _description(body: dict[str, Any]) -> str | None:
    """The peer's ``error_description``, cleaned for a terminal or a log line."""
    raw = body.get("error_description")
    if not isinstance(raw, str) or not raw:
        return None
    cleaned = _NOT_DESCRIPTION_CHARS.sub("?", raw)
    if len(cleaned) > MAX_DESCRIPTION_CHARS:
        cleaned = cleaned[: MAX_DESCRIPTION_CHARS - 3] + "..."
    return cleaned


def exchanged_token(
    response: HttpResponse, issued_token_type: str, label: str
) -> tuple[str, dict[str, Any]]:
    """The token of an RFC 8693 §2.2.1 response and its body: an error body raises, the
    token must be present, ``issued_token_type`` the one asked for and ``token_type`` ``N_A``."""
    body = raise_for_error(response, where="IdP")
    token = body.get(spec.R_ACCESS_TOKEN)
    if not isinstance(token, str) or not token:
        raise ProtocolViolation(rules.ACCESS_TOKEN, "token exchange response has no token")
    if body.get(spec.R_ISSUED_TOKEN_TYPE) != issued_token_type:
        raise ProtocolViolation(rules.ISSUED_TOKEN_TYPE, f"issued_token_type is not {label}")
    if body.get(spec.R_TOKEN_TYPE) != spec.TOKEN_TYPE_N_A:
        raise ProtocolViolation(rules.TOKEN_TYPE, "token_type is not N_A")
    return token, body


def process_token_exchange_response(
    response: HttpResponse,
    *,
    idp_issuer: str,
    audience: str,
    client_id: str,
    requested_scope: frozenset[str] = frozenset(),
    now: float,
    idp_keys: JwkSet | None = None,
    dpop_jkt: str | None = None,
) -> IdJag:
    """Check the IdP's token exchange response (RFC 8693 §2.2, draft §4.3.4) and its ID-JAG.

    ``audience`` is the resource AS issuer; ``client_id`` is ours *at that AS*.
    """
    token, body = exchanged_token(response, spec.TOKEN_TYPE_ID_JAG, "id-jag")
    claims = decode_id_jag(token, idp_issuer=idp_issuer, now=now)
    check_id_jag_target(claims, audience=audience, client_id=client_id)
    if idp_keys is not None:
        try:
            verify_id_jag(
                token,
                keys=idp_keys,
                issuer=idp_issuer,
                audience=audience,
                client_id=client_id,
                now=now,
                allow_cnf=True,
            )
        except OAuthError:
            raise ProtocolViolation(rules.ID_JAG_SIGNATURE, "the ID-JAG does not verify") from None
    if dpop_jkt is not None and (claims.cnf is None or claims.cnf.jkt != dpop_jkt):
        raise ProtocolViolation(rules.DPOP_DOWNGRADE, "the ID-JAG is not bound to our DPoP key")
    scope = _scope(body, requested_scope)
    if claims.scope is not None and claims.scopes != scope:
        raise ProtocolViolation(rules.ID_JAG_SCOPE, "response scope differs from the ID-JAG scope")
    return IdJag(token, claims, scope)


def decode_id_jag(token: str, *, idp_issuer: str, now: float) -> IdJagClaims:
    """Decode an ID-JAG WITHOUT verifying its signature; check ``typ``, ``iss``, claims, ``exp``."""
    try:
        jws = parse_compact(token, error=InvalidGrant)
    except OAuthError:
        raise ProtocolViolation(rules.ID_JAG_MALFORMED, "the ID-JAG is not a compact JWS") from None
    if not ID_JAG.typ_ok(jws.header):
        raise ProtocolViolation(rules.ID_JAG_TYP, "typ is not oauth-id-jag+jwt")
    try:
        claims = IdJagClaims.model_validate(jws.payload)
    except ValidationError:
        raise ProtocolViolation(rules.ID_JAG_CLAIMS, "ID-JAG claims missing or mistyped") from None
    if claims.iss != idp_issuer:
        raise ProtocolViolation(rules.ID_JAG_ISS, "the ID-JAG was not issued by our IdP")
    if claims.exp <= now:
        raise ProtocolViolation(rules.ID_JAG_EXPIRED, "the ID-JAG is already expired")
    return claims


def check_id_jag_target(claims: IdJagClaims, *, audience: str, client_id: str) -> None:
    """Before redeeming: ``aud`` is the target AS alone, ``client_id`` ours there (draft §4.4.1)."""
    if not ID_JAG.audience_ok(claims.aud, audience):
        raise ProtocolViolation(rules.ID_JAG_AUD, "the ID-JAG is not for this authorization server")
    if not client_id_ok(claims, client_id):
        raise ProtocolViolation(rules.ID_JAG_CLIENT_ID, "the ID-JAG names another client")


def process_token_response(
    response: HttpResponse,
    *,
    as_issuer: str,
    resource: str | None,
    requested_scope: frozenset[str] = frozenset(),
    now: float,
    dpop: bool = False,
) -> AccessToken:
    """Check the resource AS's access token response (RFC 6749 §5.1, draft §4.4.2)."""
    body = raise_for_error(response, where="authorization server")
    token = body.get(spec.R_ACCESS_TOKEN)
    if not isinstance(token, str) or not token:
        raise ProtocolViolation(rules.ACCESS_TOKEN, "token response has no access token")
    try:
        message = TokenResponse.model_validate(body)
    except ValidationError:
        raise ProtocolViolation(rules.TOKEN_RESPONSE, "token response members mistyped") from None
    allowed = {"dpop"} if dpop else {"bearer"}
    if message.token_type.lower() not in allowed:
        raise ProtocolViolation(rules.TOKEN_TYPE, "unexpected token_type")
    lifetime = message.expires_in
    if lifetime is None:
        lifetime = DEFAULT_ACCESS_TOKEN_LIFETIME
    elif lifetime <= 0:
        raise ProtocolViolation(rules.EXPIRES_IN, "expires_in is not positive")
    return AccessToken(
        message.access_token,
        message.token_type,
        now + lifetime,
        _scope(body, requested_scope),
        resource,
        as_issuer,
        requested_scope,
    )


def _scope(body: dict[str, Any], requested: frozenset[str]) -> frozenset[str]:
    """RFC 6749 §5.1: ``scope`` absent means exactly what was requested."""
    raw = body.get(spec.R_SCOPE)
    if raw is None:
        return requested
    if not isinstance(raw, str):
        raise ProtocolViolation(rules.SCOPE, "scope is not a string")
    try:
        return parse_scope(raw)
    except OAuthError:
        raise ProtocolViolation(rules.SCOPE, "scope is malformed") from None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None
