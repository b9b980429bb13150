"""Deliberately malformed JWS for negative cases: any header, any signature.

The happy path uses :func:`xaa.jose.sign_compact`; everything here exists to
produce exactly one defect (an ``alg`` that lies, an HMAC keyed with a public
key, a DER or all-zero ECDSA signature, a key too small to be trusted).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from xaa import SigningKey
from xaa.keys import b64url

DROP: Any = object()
"""A value that removes a header member or a claim instead of setting it."""


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied (a value of :data:`DROP` removes the member)."""
    out = dict(base)
    for name, value in changes.items():
        if value is DROP:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    """``b64url(header).b64url(payload)`` exactly as given (nothing added)."""
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{h}.{p}"


def compact(
    header: Mapping[str, Any],
    payload: Mapping[str, Any],
    key: SigningKey | WeakRsaKey | None,
    signature: bytes | None = None,
) -> str:
    """A compact JWS over exactly ``header``; signed with ``key`` unless ``signature`` is given."""
    data = signing_input(header, payload)
    sig = signature if signature is not None else key.sign(data.encode()) if key else b""
    return f"{data}.{b64url(sig)}"


def hmac_compact(header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes) -> str:
    """HS256 with ``secret`` as the key: the algorithm-confusion attack (RFC 8725 §2.1)."""
    data = signing_input(header, payload)
    return f"{data}.{b64url(hmac.new(secret, data.encode(), hashlib.sha256).digest())}"


def public_key_encodings(key: SigningKey) -> dict[str, bytes]:
    """The public key as an attacker would find it: PEM, DER and JWK JSON."""
    public = key.key.as_pem(private=False)
    der = serialization.load_pem_public_key(public).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem": public,
        "der": der,
        "jwk": json.dumps(key.public_jwk(), separators=(",", ":")).encode(),
    }


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    if value[0] & 0x80:
        value = b"\x00" + value
    return b"\x02" + bytes([len(value)]) + value


def der_ecdsa(raw: bytes) -> bytes:
    """A raw ``r || s`` ECDSA signature re-encoded as ASN.1 DER (not JWS, RFC 7518 §3.4)."""
    half = len(raw) // 2
    body = _der_integer(raw[:half]) + _der_integer(raw[half:])
    return b"\x30" + bytes([len(body)]) + body


def self_signed_certificate(key: SigningKey) -> bytes:
    """A self-signed X.509 certificate (DER) for an EC ``key``: what ``x5c`` would carry."""
    private = key.key.private_key
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise ValueError("an EC signing key is needed")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xaa conformance attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


class WeakRsaKey:
    """A 1024-bit RS256 key: published to see whether a verifier refuses it (RFC 7518 §3.3)."""

    alg = "RS256"

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (deliberately weak)

    def sign(self, data: bytes) -> bytes:
        """The RS256 signature over ``data``."""
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK."""
        numbers = self._key.public_key().public_numbers()

        def encode(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": self.alg,
            "use": "sig",
            "n": encode(numbers.n),
            "e": encode(numbers.e),
        }
