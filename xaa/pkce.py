"""PKCE (RFC 7636), S256 only: one implementation for clients and servers.

``plain`` is never offered or accepted (RFC 7636 §4.2 allows it only when
S256 is impossible; RFC 9700 §2.1.1 requires S256).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from . import spec
from ._keys import b64url

__all__ = [
    "METHOD",
    "code_challenge",
    "is_challenge",
    "new_pair",
    "new_verifier",
    "verifier_matches",
]

METHOD = spec.PKCE_METHOD_S256
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest


def new_verifier() -> str:
    """A fresh ``code_verifier``: 64 characters from 48 random bytes (§4.1, §7.1)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 ``code_challenge``: base64url(SHA-256(verifier)) without padding (§4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)``."""
    verifier = new_verifier()
    return verifier, code_challenge(verifier)


def is_challenge(value: str) -> bool:
    """True when ``value`` has the shape of an S256 challenge (§4.3)."""
    return _CHALLENGE.fullmatch(value) is not None


def verifier_matches(verifier: str, challenge: str) -> bool:
    """§4.6: a well-formed verifier whose S256 challenge equals ``challenge`` (constant time)."""
    if _VERIFIER.fullmatch(verifier) is None:
        return False
    return hmac.compare_digest(code_challenge(verifier), challenge)
