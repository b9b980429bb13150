"""IdP discovery documents: RFC 8414 §2 and OpenID Connect Discovery §3 (draft §7.1).

One document serves both well-known paths. It advertises the token exchange
grant, ``identity_chaining_requested_token_types_supported`` with the id-jag
token type, and only confidential client authentication methods (never
``none``, draft §8.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import spec
from .._models import AuthorizationServerMetadata

__all__ = ["idp_metadata"]


def idp_metadata(
    issuer: str,
    *,
    signing_algs: Iterable[str] = (spec.DEFAULT_ALG,),
    authorization_endpoint: bool = False,
    userinfo_endpoint: bool = False,
    revocation_endpoint: bool = False,
    grant_types: Iterable[str] = (spec.GRANT_TOKEN_EXCHANGE,),
    scopes: Iterable[str] = (),
    dpop_algs: Iterable[str] = (),
    claims: Iterable[str] = (),
    subject_token_types: Iterable[str] = (),
) -> AuthorizationServerMetadata:
    """The IdP's metadata; endpoints are ``issuer`` + ``/token``, ``/jwks``, ``/authorize``...

    ``signing_algs`` are the algorithms of the IdP's own keys (ID tokens); client
    assertions may use any algorithm xaa verifies, pinned by the client's key.

    ``authorization_endpoint`` also adds what OpenID Connect Discovery requires
    (``response_types_supported``, ``subject_types_supported``,
    ``id_token_signing_alg_values_supported``, PKCE ``S256``).

    ``subject_token_types`` (e.g. ``TokenExchangeEndpoint.subject_token_types``) is
    published as ``subject_token_types_supported``: next to the issued token types
    of draft-03 §7.1, the ``subject_token_type`` values the token exchange accepts;
    the xaa client presents its refresh token only when the refresh-token type is
    listed there.
    """
    base = issuer.rstrip("/")
    algs = sorted(set(signing_algs))
    doc: dict[str, Any] = {
        spec.M_ISSUER: issuer,
        spec.M_TOKEN_ENDPOINT: f"{base}/token",
        spec.M_JWKS_URI: f"{base}/jwks",
        spec.M_GRANT_TYPES_SUPPORTED: list(dict.fromkeys(grant_types)),
        spec.M_IDENTITY_CHAINING_TOKEN_TYPES: [spec.TOKEN_TYPE_ID_JAG],
        spec.M_TOKEN_ENDPOINT_AUTH_METHODS: list(spec.CONFIDENTIAL_AUTH_METHODS),
        spec.M_TOKEN_ENDPOINT_AUTH_SIGNING_ALGS: sorted(spec.SUPPORTED_ALGS),
    }
    if authorization_endpoint:
        doc[spec.M_AUTHORIZATION_ENDPOINT] = f"{base}/authorize"
        doc["response_types_supported"] = ["code"]
        doc["response_modes_supported"] = ["query"]
        doc["code_challenge_methods_supported"] = ["S256"]
        doc["subject_types_supported"] = ["public"]
        doc["id_token_signing_alg_values_supported"] = algs
        doc["authorization_response_iss_parameter_supported"] = True
    if userinfo_endpoint:
        doc["userinfo_endpoint"] = f"{base}/userinfo"
    if revocation_endpoint:
        doc["revocation_endpoint"] = f"{base}/revoke"
        doc["revocation_endpoint_auth_methods_supported"] = list(spec.CONFIDENTIAL_AUTH_METHODS)
    if scopes:
        doc["scopes_supported"] = list(dict.fromkeys(scopes))
    if claims:
        doc["claims_supported"] = list(dict.fromkeys(claims))
    if subject_token_types:
        doc[spec.M_SUBJECT_TOKEN_TYPES] = list(dict.fromkeys(subject_token_types))
    if dpop_algs:
        doc[spec.M_DPOP_SIGNING_ALGS] = sorted(set(dpop_algs))
    return AuthorizationServerMetadata.model_validate(doc)
