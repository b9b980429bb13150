"""Compact JWS, strictly: parse, sign, verify (RFC 7515, RFC 8725).

Parsing rejects, before any key is touched: tokens over a size cap, anything
but three base64url segments (so no JWE, no JSON serialization),
non-canonical base64url, invalid UTF-8, duplicate JSON members, the
non-JSON constants ``NaN``/``Infinity`` and JSON nested too deep
(:mod:`xaa._safejson`). Verification takes the algorithm from
the key, never from the token: ``none`` and HMAC are refused in any spelling,
headers that carry or point at keys (``jwk``, ``jku``, ``x5u``, ``x5c``) are
ignored, and ``crit`` is refused since xaa understands no extension.
"""

from __future__ import annotations

import binascii
import functools
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._errors import MalformedEncoding, OAuthError
from ._keys import JwkSet, SigningKey, VerificationKey, b64url
from ._safejson import parse_json_object

__all__ = [
    "DEFAULT_MAX_TOKEN_BYTES",
    "CompactJws",
    "b64url_decode",
    "parse_compact",
    "select_key",
    "sign_compact",
    "strict_json_object",
    "verify_compact",
]

DEFAULT_MAX_TOKEN_BYTES = 8192

_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_VALUE = {char: index for index, char in enumerate(_B64URL)}
# Unused low bits of the last character, by segment length mod 4 (RFC 4648 §3.5).
_UNUSED_BITS_MASK = {0: 0, 2: 0x0F, 3: 0x03}


class CompactJws(NamedTuple):
    """A parsed, not yet verified, compact JWS."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_", b"+/")


def strict_json_object(data: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object with no duplicate members (RFC 7515 §5.2 step 4),
    nested no deeper than :data:`xaa._safejson.MAX_JSON_DEPTH`."""
    return parse_json_object(data)  # JsonRejected is a MalformedEncoding


def b64url_decode(segment: str) -> bytes:
    """Decode canonical, unpadded base64url; anything else raises :class:`MalformedEncoding`."""
    remainder = len(segment) % 4
    if remainder == 1 or _B64URL_SEGMENT.fullmatch(segment) is None:
        raise MalformedEncoding("not base64url")
    if segment and _B64URL_VALUE[segment[-1]] & _UNUSED_BITS_MASK[remainder]:
        # Unused bits set: another spelling of the same bytes (RFC 4648 §3.5).
        raise MalformedEncoding("non-canonical base64url")
    padded = (segment + "=" * (-remainder % 4)).encode("ascii")
    return binascii.a2b_base64(padded.translate(_TO_STANDARD_ALPHABET))


@functools.lru_cache(maxsize=256)
def _decoded_header(segment: str) -> dict[str, Any]:
    """A header segment, decoded once: one key signs many tokens with the same header.

    Callers get a copy (see :func:`parse_compact`), so the cached dict never changes.
    """
    return strict_json_object(b64url_decode(segment))


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
        header = dict(_decoded_header(parts[0]))
        payload = strict_json_object(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except MalformedEncoding as exc:
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
