"""The plain-OAuth fallback, sans-I/O: build each request, process each response.

- Authorization request with PKCE ``S256`` (RFC 7636 §4), ``state`` (RFC 6749
  §10.12) and ``resource`` (RFC 8707 §2).
- Code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5), refresh with a narrower
  ``scope`` (RFC 6749 §6: never more than the original grant), client
  credentials (RFC 6749 §4.4), token revocation (RFC 7009 §2.1).

Token responses are checked by :func:`xaa.client.process_token_response`;
a refresh answer with scopes beyond the stored grant is a
:class:`~xaa.ProtocolViolation`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from .. import rules, spec
from .._errors import HttpResponse, InvalidRequest, ProtocolViolation
from .._forms import encode_form, format_scope
from ..client import AccessToken, ClientCredentials, Request, process_token_response
from ..client._http import json_body, require_same_origin, require_secure
from ..pkce import METHOD as CODE_CHALLENGE_METHOD
from ..pkce import code_challenge, new_verifier
from ._errors import ScopeExceedsGrant

AUTHORIZATION_TTL = 600.0


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """An authorization request sent to the person's browser, awaiting its callback."""

    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    url: str = field(repr=False)
    person: str
    agent: str | None
    app: str
    scopes: frozenset[str]
    redirect_uri: str
    resource: str
    expires_at: float


def authorization_request(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    resource: str,
    scopes: frozenset[str],
    person: str,
    agent: str | None,
    app: str,
    now: float,
    ttl: float = AUTHORIZATION_TTL,
) -> PendingAuthorization:
    """A fresh authorization request (RFC 6749 §4.1.1) with PKCE S256, state and resource."""
    require_secure(authorization_endpoint, rules.AUTHORIZATION_ENDPOINT)
    if urlsplit(authorization_endpoint).fragment:
        raise ProtocolViolation(rules.AUTHORIZATION_ENDPOINT, "the endpoint has a fragment")
    verifier = new_verifier()
    state = secrets.token_urlsafe(24)
    params = {
        "response_type": "code",
        spec.P_CLIENT_ID: client_id,
        spec.P_REDIRECT_URI: redirect_uri,
        spec.P_SCOPE: format_scope(scopes),
        "state": state,
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": CODE_CHALLENGE_METHOD,
        spec.P_RESOURCE: resource,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    sep = "&" if urlsplit(authorization_endpoint).query else "?"
    return PendingAuthorization(
        state,
        verifier,
        f"{authorization_endpoint}{sep}{query}",
        person,
        agent,
        app,
        scopes,
        redirect_uri,
        resource,
        now + ttl,
    )


class PendingStore(Protocol):
    """Where outstanding authorization requests wait for their callback (RFC 6749 §4.1.2).

    :class:`PendingAuthorizations` keeps them in one process's memory; a store
    shared by processes (SQLite, Redis: :mod:`xaa.adapters._broker_shared`) lets
    the callback land on another worker or host.
    """

    def add(self, pending: PendingAuthorization, now: float) -> None:
        """Keep ``pending`` until its expiry."""
        ...

    def take(self, state: str | None, now: float) -> PendingAuthorization:
        """The request ``state`` names, removed; unknown or expired is ``invalid_request``."""
        ...

    def drop(self, person: str | None, agent: str | None, app: str | None) -> int:
        """Forget requests matching every given name; the count dropped."""
        ...


class PendingAuthorizations:
    """Outstanding authorization requests by ``state``: each is taken once, before expiry."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingAuthorization] = {}

    def add(self, pending: PendingAuthorization, now: float) -> None:
        """Keep ``pending``; drop expired ones."""
        self._pending = {k: v for k, v in self._pending.items() if v.expires_at > now}
        self._pending[pending.state] = pending

    def take(self, state: str | None, now: float) -> PendingAuthorization:
        """The request ``state`` belongs to, removed; unknown or expired is ``invalid_request``."""
        pending = self._pending.pop(state, None) if state else None
        if pending is None or not secrets.compare_digest(pending.state, state or ""):
            raise InvalidRequest("Unknown or expired authorization request.", detail="bad state")
        if pending.expires_at <= now:
            raise InvalidRequest("Unknown or expired authorization request.", detail="stale state")
        return pending

    def drop(self, person: str | None, agent: str | None, app: str | None) -> int:
        """Forget requests matching every given name; the count dropped."""
        keep = {
            k: v
            for k, v in self._pending.items()
            if not (
                (person is None or v.person == person)
                and (agent is None or v.agent == agent)
                and (app is None or v.app == app)
            )
        }
        dropped = len(self._pending) - len(keep)
        self._pending = keep
        return dropped


def _token_request(
    endpoint: str,
    issuer: str,
    credentials: ClientCredentials,
    form: dict[str, str | list[str]],
    now: float,
) -> Request:
    require_same_origin(endpoint, issuer)
    headers = {"content-type": spec.MEDIA_TYPE_FORM, "accept": spec.MEDIA_TYPE_JSON}
    credentials.apply(form, headers, issuer=issuer, now=now)
    return Request("POST", endpoint, headers, encode_form(form))


def code_exchange_request(
    token_endpoint: str,
    credentials: ClientCredentials,
    *,
    issuer: str,
    code: str,
    pending: PendingAuthorization,
    now: float,
) -> Request:
    """RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5) and ``resource`` (RFC 8707)."""
    form: dict[str, str | list[str]] = {
        spec.P_GRANT_TYPE: spec.GRANT_AUTHORIZATION_CODE,
        spec.P_CODE: code,
        spec.P_REDIRECT_URI: pending.redirect_uri,
        spec.P_CODE_VERIFIER: pending.code_verifier,
        spec.P_RESOURCE: pending.resource,
    }
    return _token_request(token_endpoint, issuer, credentials, form, now)


def _scoped_form(
    grant_type: str, resource: str, scopes: frozenset[str]
) -> dict[str, str | list[str]]:
    """A grant's form for ``resource`` (RFC 8707 §2), with ``scope`` only when some are asked."""
    form: dict[str, str | list[str]] = {spec.P_GRANT_TYPE: grant_type, spec.P_RESOURCE: resource}
    if scopes:
        form[spec.P_SCOPE] = format_scope(scopes)
    return form


def refresh_request(
    token_endpoint: str,
    credentials: ClientCredentials,
    *,
    issuer: str,
    refresh_token: str,
    scopes: frozenset[str],
    resource: str,
    now: float,
) -> Request:
    """RFC 6749 §6 refresh asking for ``scopes`` (a subset of the grant: downscoping)."""
    form = _scoped_form(spec.GRANT_REFRESH_TOKEN, resource, scopes)
    form[spec.P_REFRESH_TOKEN] = refresh_token
    return _token_request(token_endpoint, issuer, credentials, form, now)


def client_credentials_request(
    token_endpoint: str,
    credentials: ClientCredentials,
    *,
    issuer: str,
    scopes: frozenset[str],
    resource: str,
    now: float,
) -> Request:
    """RFC 6749 §4.4.2 for an app that only offers a service account."""
    form = _scoped_form(spec.GRANT_CLIENT_CREDENTIALS, resource, scopes)
    return _token_request(token_endpoint, issuer, credentials, form, now)


def revocation_request(
    revocation_endpoint: str,
    credentials: ClientCredentials,
    *,
    issuer: str,
    token: str,
    token_type_hint: str,
    now: float,
) -> Request:
    """RFC 7009 §2.1: revoke ``token`` (hint ``refresh_token`` or ``access_token``)."""
    form: dict[str, str | list[str]] = {"token": token, "token_type_hint": token_type_hint}
    return _token_request(revocation_endpoint, issuer, credentials, form, now)


def revocation_succeeded(response: HttpResponse) -> bool:
    """RFC 7009 §2.2: 200 means revoked (or already invalid); anything else did not revoke."""
    return response.status == 200


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What a token response gave: the access token and, maybe, a refresh token."""

    access: AccessToken
    refresh_token: str | None = field(default=None, repr=False)


def process_grant_response(
    response: HttpResponse,
    *,
    issuer: str,
    resource: str,
    requested: frozenset[str],
    ceiling: frozenset[str] | None = None,
    now: float,
) -> IssuedTokens:
    """Check a token response (RFC 6749 §5.1); ``ceiling``: scopes it may never exceed."""
    access = process_token_response(
        response, as_issuer=issuer, resource=resource, requested_scope=requested, now=now
    )
    if ceiling is not None and not access.scopes <= ceiling:
        raise ProtocolViolation(
            rules.SCOPE_BEYOND_GRANT, "the AS granted more than the stored grant"
        )
    refresh = json_body(response, rules.TOKEN_RESPONSE).get(spec.R_REFRESH_TOKEN)
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        raise ProtocolViolation(rules.REFRESH_TOKEN, "refresh_token is not a string")
    return IssuedTokens(access, refresh)


def downscope(app: str, requested: frozenset[str], grant: frozenset[str]) -> frozenset[str]:
    """The scopes to ask for on refresh: ``requested`` (all of the grant when empty).

    Raises :class:`~xaa.broker.ScopeExceedsGrant` when ``requested`` is not a
    subset of ``grant`` (RFC 6749 §6: never more than the original grant).
    """
    if not requested:
        return grant
    missing = requested - grant
    if missing:
        raise ScopeExceedsGrant(app, frozenset(missing))
    return requested
