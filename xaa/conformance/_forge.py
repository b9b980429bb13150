"""Deliberately malformed JWS for negative cases: any header, any signature.

The happy path uses :func:`xaa._jose.sign_compact`; everything here exists to
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

from xaa import ConfigurationError, SigningKey
from xaa._keys import b64url

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
        raise ConfigurationError("an EC signing key is needed")
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


_CURVES: dict[str, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int]] = {
    "P-384": (ec.SECP384R1(), hashes.SHA384(), 48),
    "P-521": (ec.SECP521R1(), hashes.SHA512(), 66),
    "secp256k1": (ec.SECP256K1(), hashes.SHA256(), 32),
}


class CurveKey:
    """An EC key on a curve xaa does not sign with (P-384, P-521, secp256k1), published with
    its own ``alg`` (ES384, ES512, ES256K): keys an AS should not trust for an ES256 IdP."""

    def __init__(self, crv: str, alg: str, kid: str) -> None:
        self.crv, self.alg, self.kid = crv, alg, kid
        curve, self._hash, self._size = _CURVES[crv]
        self._key = ec.generate_private_key(curve)

    def sign(self, data: bytes) -> bytes:
        """The JWS (``r || s``) ECDSA signature over ``data`` with the curve's hash."""
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(self._hash)))
        return r.to_bytes(self._size, "big") + s.to_bytes(self._size, "big")

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK, with ``alg`` and ``use: sig``."""
        numbers = self._key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": self.crv,
            "kid": self.kid,
            "alg": self.alg,
            "use": "sig",
            "x": b64url(numbers.x.to_bytes(self._size, "big")),
            "y": b64url(numbers.y.to_bytes(self._size, "big")),
        }


class OtherAlgSigner:
    """Signs with an RSA :class:`~xaa.SigningKey` under the other RSA algorithm (RS256 for a
    PS256 key, or the reverse): the RS/PS confusion of RFC 8725 §3.1."""

    def __init__(self, key: SigningKey) -> None:
        self.kid = key.kid
        self.alg = "RS256" if key.alg == "PS256" else "PS256"
        private = key.key.private_key
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ConfigurationError("an RSA signing key is needed")
        self._key = private

    def sign(self, data: bytes) -> bytes:
        """The signature under :attr:`alg`."""
        if self.alg == "RS256":
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return self._key.sign(data, pss, hashes.SHA256())
