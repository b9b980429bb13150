"""Compact JWS, strictly: parse, sign, verify (RFC 7515, RFC 8725).

Parsing rejects, before any key is touched: tokens over a size cap, anything
but three base64url segments (so no JWE, no JSON serialization),
non-canonical base64url, invalid UTF-8, duplicate JSON members and the
non-JSON constants ``NaN``/``Infinity``. Verification takes the algorithm from
the key, never from the token: ``none`` and HMAC are refused in any spelling,
headers that carry or point at keys (``jwk``, ``jku``, ``x5u``, ``x5c``) are
ignored, and ``crit`` is refused since xaa understands no extension.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from .errors import OAuthError
from .keys import JwkSet, SigningKey, VerificationKey, b64url

DEFAULT_MAX_TOKEN_BYTES = 8192

_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class CompactJws(NamedTuple):
    """A parsed, not yet verified, compact JWS."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


class _Malformed(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Malformed("duplicate JSON member")
    return obj


def _reject_constant(name: str) -> Any:
    raise _Malformed(f"non-JSON constant {name}")


def strict_json_object(data: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object with no duplicate members (RFC 7515 §5.2 step 4)."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Malformed("not a JSON object") from exc
    if not isinstance(value, dict):
        raise _Malformed("not a JSON object")
    return value


def b64url_decode(segment: str) -> bytes:
    """Decode canonical, unpadded base64url; anything else is malformed."""
    if not _B64URL_ALPHABET.issuperset(segment) or len(segment) % 4 == 1:
        raise _Malformed("not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _Malformed("not base64url") from exc
    if b64url(raw) != segment:  # leftover bits set: another string for the same bytes
        raise _Malformed("non-canonical base64url")
    return raw


def parse_compact(
    token: object, *, error: type[OAuthError], max_bytes: int = DEFAULT_MAX_TOKEN_BYTES
) -> CompactJws:
    """Split and decode a compact JWS without verifying it; ``error`` is raised on any defect."""
    if not isinstance(token, str) or not token:
        raise error(detail="token missing")
    if len(token) > max_bytes:
        raise error(detail=f"token longer than {max_bytes} bytes")
    if not token.isascii():
        raise error(detail="token is not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise error(detail="not a compact JWS")
    try:
        header = strict_json_object(b64url_decode(parts[0]))
        payload = strict_json_object(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except _Malformed as exc:
        raise error(detail=str(exc)) from None
    if not signature:
        raise error(detail="empty signature")
    return CompactJws(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def select_key(jws: CompactJws, keys: JwkSet, *, error: type[OAuthError]) -> VerificationKey:
    """The key that must verify ``jws``: chosen by ``kid``, algorithm pinned by the key."""
    header = jws.header
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise error(detail="alg missing")
    if alg.lower() == "none" or alg.upper().startswith("HS"):
        raise error(detail="alg not allowed")
    if "crit" in header:
        raise error(detail="crit header not supported")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise error(detail="kid is not a string")
    key = keys.select(kid)
    if key is None:
        raise error(detail="no key for kid" if kid is not None else "kid missing")
    if key.alg != alg:
        raise error(detail="alg not pinned for this key")
    return key


def verify_compact(jws: CompactJws, keys: JwkSet, *, error: type[OAuthError]) -> VerificationKey:
    """Check the signature of a parsed JWS; returns the key that verified it."""
    key = select_key(jws, keys, error=error)
    if not key.verify(jws.signing_input, jws.signature):
        raise error(detail="signature invalid")
    return key


def sign_compact(header: Mapping[str, Any], payload: Mapping[str, Any], key: SigningKey) -> str:
    """Sign ``payload`` as a compact JWS with ``key``; ``alg`` and ``kid`` come from the key."""
    full_header = {**header, "alg": key.alg, "kid": key.kid}
    h = b64url(json.dumps(full_header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{h}.{p}".encode("ascii")
    return f"{h}.{p}.{b64url(key.sign(signing_input))}"
