"""DPoP (RFC 9449): proofs for clients, proof verification for servers.

The client side makes proofs (:class:`DpopKey`, :func:`make_proof`); servers verify them
through one seam, :class:`DpopProofVerifier` (:class:`DpopVerifier` is the implementation
the IdP, the resource AS and the resource server share), bind access tokens to a key
(``cnf.jkt``, RFC 9449 §6) and issue nonces (:class:`HmacNonceSource`, §8, §9).
"""

from ._dpop import (
    DEFAULT_DPOP_ALGS,
    DEFAULT_LEEWAY,
    DEFAULT_MAX_AGE,
    DEFAULT_NONCE_STEP,
    AuthorizationCredentials,
    DpopKey,
    DpopNonceSource,
    DpopProofClaims,
    DpopProofResult,
    HmacNonceSource,
    ath_for,
    bind_decision,
    check_cnf_binding,
    check_dpop_token_type,
    check_token_binding,
    dpop_nonce_challenge,
    make_proof,
    normalize_htu,
    parse_authorization,
    resource_error_response,
    verify_proof,
    www_authenticate_dpop,
)
from ._dpop_server import DpopProofVerifier, DpopVerifier

__all__ = [
    "DEFAULT_DPOP_ALGS",
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_AGE",
    "DEFAULT_NONCE_STEP",
    "AuthorizationCredentials",
    "DpopKey",
    "DpopNonceSource",
    "DpopProofClaims",
    "DpopProofResult",
    "DpopProofVerifier",
    "DpopVerifier",
    "HmacNonceSource",
    "ath_for",
    "bind_decision",
    "check_cnf_binding",
    "check_dpop_token_type",
    "check_token_binding",
    "dpop_nonce_challenge",
    "make_proof",
    "normalize_htu",
    "parse_authorization",
    "resource_error_response",
    "verify_proof",
    "www_authenticate_dpop",
]
