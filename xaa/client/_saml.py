"""A SAML 2.0 assertion as the client's starting credential (draft §4.5), sans-I/O.

The client exchanges the assertion once for an IdP refresh token
(``requested_token_type=...:refresh_token``, ``scope=openid offline_access``), keeps
that refresh token in its :class:`~xaa.client.IdentitySession`, and presents it
as ``subject_token`` for every later ID-JAG (draft §4.3). :meth:`XaaFlow.id_jag_flow`
runs :func:`exchange_saml_assertion` first whenever the session holds an assertion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator

from .. import spec
from .._errors import HttpResponse, InvalidGrant, InvalidRequest, InvalidScope
from .._forms import format_scope
from ._auth import ClientCredentials
from ._cache import IdentitySession
from ._http import Request
from ._requests import DpopProver, _token_request, exchanged_token

__all__ = [
    "SAML_SCOPES",
    "exchange_saml_assertion",
    "process_refresh_token_response",
    "saml_refresh_token_request",
    "saml_session",
]

SAML_SCOPES = frozenset({"openid", "offline_access"})  # draft §4.5 SHOULD


def saml_session(subject_token: str, *, subject: str | None = None) -> IdentitySession:
    """A session that starts from an encoded assertion (base64url, RFC 8693 §3).

    ``subject`` names the user in cache keys; by default a digest of the assertion.
    """
    if subject is None:
        subject = "saml " + hashlib.sha256(subject_token.encode("utf-8")).hexdigest()[:32]
    return IdentitySession(
        id_token=subject_token, subject=subject, subject_token_type=spec.TOKEN_TYPE_SAML2
    )


def saml_refresh_token_request(
    endpoint: str,
    credentials: ClientCredentials,
    *,
    idp_issuer: str,
    subject_token: str,
    scope: frozenset[str] = SAML_SCOPES,
    now: float,
    dpop: DpopProver | None = None,
) -> Request:
    """RFC 8693 §2.1 request for an IdP refresh token in exchange for an assertion (§4.5)."""
    form: dict[str, str | list[str]] = {
        spec.P_GRANT_TYPE: spec.GRANT_TOKEN_EXCHANGE,
        spec.P_REQUESTED_TOKEN_TYPE: spec.TOKEN_TYPE_REFRESH_TOKEN,
        spec.P_SUBJECT_TOKEN: subject_token,
        spec.P_SUBJECT_TOKEN_TYPE: spec.TOKEN_TYPE_SAML2,
        spec.P_SCOPE: format_scope(scope),
    }
    return _token_request(endpoint, form, credentials, issuer=idp_issuer, now=now, dpop=dpop)


def process_refresh_token_response(response: HttpResponse) -> str:
    """The refresh token of a draft §4.5 response: ``issued_token_type`` refresh_token,
    ``token_type`` ``N_A``, a non-empty token; else :class:`ProtocolViolation`."""
    token, _ = exchanged_token(response, spec.TOKEN_TYPE_REFRESH_TOKEN, "refresh_token")
    return token


def exchange_saml_assertion(
    token_endpoint: str,
    credentials: ClientCredentials,
    session: IdentitySession,
    *,
    idp_issuer: str,
    clock: Callable[[], float],
    dpop: DpopProver | None = None,
) -> Generator[Request, HttpResponse, None]:
    """Flow step: trade the session's assertion for a refresh token, kept in ``session``.

    The assertion is single use, so it leaves the session either way; when the IdP
    refuses it, the ladder goes on with any refresh token already held.
    """
    subject_token, session.id_token = session.id_token, None
    if subject_token is None:
        return
    response = yield saml_refresh_token_request(
        token_endpoint,
        credentials,
        idp_issuer=idp_issuer,
        subject_token=subject_token,
        now=clock(),
        dpop=dpop,
    )
    try:
        session.refresh_token = process_refresh_token_response(response)
    except (InvalidRequest, InvalidGrant, InvalidScope):
        return
