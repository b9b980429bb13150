"""Variants of the chat AS whose JWS verification is lenient in exactly one way.

Each one is how real verifiers go wrong with keys (RFC 8725 §2.1, §3.1, §3.10): the
library's verification runs first; when it refuses, the variant tries its one lenient
rule against the issuer's raw JWKS (or the token's own headers). If the lenient rule
accepts the signature, every other check of the ID-JAG still runs (on a stand-in
signature), so the conformance suite sees exactly one check missing. Never use in a
deployment; test code only, see tests/conformance/broken_resource.py.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from xaa import IdJagClaims, InvalidGrant, JwkSet, SigningKey, spec
from xaa._jose import CompactJws, b64url_decode, parse_compact, strict_json_object
from xaa._tokens import ID_JAG, verify_parsed
from xaa.resource import JwtBearerEndpoint

Jwk = Mapping[str, Any]
_STAND_IN = SigningKey.generate(spec.ALG_ES256, kid="test-only-stand-in")
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def _int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


def _public(jwk: Jwk) -> Any:
    """The cryptography public key of an EC (any curve), RSA or Ed25519 JWK."""
    kty = jwk.get("kty")
    if kty == "EC":
        curve = _CURVES[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), curve).public_key()
    if kty == "RSA":
        return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
    if kty == "OKP" and jwk.get("crv") == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    raise ValueError("unsupported key")


def _naive_verify(key: Any, alg: str, data: bytes, sig: bytes) -> bool:
    """What a permissive library does: the algorithm named, the key given, no questions."""
    found = re.search(r"256|384|512", alg)
    digest = (_HASHES[found.group(0)] if found else hashes.SHA256)()
    try:
        if isinstance(key, bytes):
            mac = hmac.new(key, data, digest.name).digest()
            return alg.startswith("HS") and hmac.compare_digest(mac, sig)
        if isinstance(key, ec.EllipticCurvePublicKey) and alg.startswith("ES"):
            half = len(sig) // 2
            r, s = int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(digest))
            return True
        if isinstance(key, rsa.RSAPublicKey) and alg[:2] in ("RS", "PS"):
            pad: padding.AsymmetricPadding = padding.PKCS1v15()
            if alg.startswith("PS"):
                pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            key.verify(sig, data, pad, digest)
            return True
        if isinstance(key, ed25519.Ed25519PublicKey) and alg == spec.ALG_EDDSA:
            key.verify(sig, data)
            return True
    except Exception:  # an invalid signature, whatever the library calls it
        return False
    return False


def _declared_alg(jwk: Jwk) -> str | None:
    if "alg" in jwk:
        return str(jwk["alg"])
    return spec.ALG_ES256 if (jwk.get("kty"), jwk.get("crv")) == ("EC", "P-256") else None


def _for_signing(jwk: Jwk) -> bool:
    return jwk.get("use", "sig") == "sig" and jwk.get("kty") != "oct"


def _loose_parse(assertion: str) -> CompactJws | None:
    """Like :func:`xaa._jose.parse_compact`, but an empty signature is fine (for ``none``)."""
    try:
        return parse_compact(assertion, error=InvalidGrant)
    except InvalidGrant:
        parts = assertion.split(".") if len(assertion) < 65536 else []
        if len(parts) != 3 or parts[2]:
            return None
        try:
            header = strict_json_object(b64url_decode(parts[0]))
            payload = strict_json_object(b64url_decode(parts[1]))
        except ValueError:
            return None
        return CompactJws(header, payload, f"{parts[0]}.{parts[1]}".encode(), b"")


class LenientKeys(JwtBearerEndpoint):
    """The library's verification, then one lenient rule (:meth:`accepts`)."""

    rule: ClassVar[str] = ""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        """True when this variant's lenient rule takes the signature as valid."""
        raise NotImplementedError

    def _raw_jwks(self, issuer: str) -> list[Jwk]:
        cache: dict[str, list[Jwk]] = self.__dict__.setdefault("_test_only_jwks", {})
        if issuer not in cache:
            well_known = issuer.rstrip("/") + spec.WELL_KNOWN_OAUTH_AS
            uri = httpx.get(well_known, timeout=5).json()[spec.M_JWKS_URI]
            cache[issuer] = list(httpx.get(uri, timeout=5).json()["keys"])
        return cache[issuer]

    def verify(
        self, assertion: str, client_id: str, headers: Mapping[str, str], now: float
    ) -> IdJagClaims:
        try:
            return super().verify(assertion, client_id, headers, now)
        except InvalidGrant:
            jws = _loose_parse(assertion)
            issuer = jws.payload.get("iss") if jws is not None else None
            if jws is None or not isinstance(issuer, str) or not self.trust.is_trusted(issuer):
                raise
            if not self.accepts(jws, self._raw_jwks(issuer), issuer):
                raise
        # The lenient rule took the signature: check the rest as the library does.
        header = {**jws.header, "alg": _STAND_IN.alg, "kid": _STAND_IN.kid}
        stand_in = jws._replace(header=header, signature=_STAND_IN.sign(jws.signing_input))
        verified = verify_parsed(
            stand_in,
            ID_JAG,
            keys=JwkSet([_STAND_IN.verification_key()]),
            issuer=issuer,
            audience=self.issuer,
            now=now,
            leeway=self.leeway,
            max_lifetime=self.max_id_jag_lifetime,
            allow_cnf=self.dpop is not None and spec.H_DPOP in headers,
        )
        if verified.claims.client_id != client_id:
            raise InvalidGrant(detail="client_id does not match the authenticated client")
        return verified.claims


def _alg(jws: CompactJws) -> str:
    alg = jws.header.get("alg")
    return alg if isinstance(alg, str) else ""


def _with_kid(jws: CompactJws, jwks: list[Jwk]) -> list[Jwk]:
    kid = jws.header.get("kid")
    return [k for k in jwks if kid is not None and k.get("kid") == kid]


def _encodings(jwk: Jwk) -> list[bytes]:
    public = _public(jwk)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return [
        public.public_bytes(serialization.Encoding.PEM, spki),
        public.public_bytes(serialization.Encoding.DER, spki),
        json.dumps(dict(jwk), separators=(",", ":")).encode(),
    ]


class HmacWithPublicKey(LenientKeys):
    """``hmac-public-key``: HS256 keyed with the named key's public PEM, DER or JWK."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        if _alg(jws) != "HS256":
            return False
        return any(
            _naive_verify(secret, "HS256", jws.signing_input, jws.signature)
            for jwk in _with_kid(jws, jwks)
            if jwk.get("kty") != "oct"
            for secret in _encodings(jwk)
        )


class JwksOctKey(LenientKeys):
    """``jwks-oct-key``: a symmetric key published in the JWKS verifies HS* tokens."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return any(
            _naive_verify(b64url_decode(k["k"]), _alg(jws), jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if k.get("kty") == "oct"
        )


class AnyKeyUse(LenientKeys):
    """``key-use``: a key published for encryption (``use: enc``) verifies signatures."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return any(
            _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if k.get("use", "sig") != "sig" and _declared_alg(k) == _alg(jws)
        )


class AlgFromHeader(LenientKeys):
    """``alg-from-header``: an RSA key pinned to PS256 verifies RS256 (or the reverse)."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        rsa_algs = (spec.ALG_RS256, spec.ALG_PS256)
        return any(
            _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if k.get("kty") == "RSA"
            and _alg(jws) in rsa_algs
            and _declared_alg(k) in rsa_algs
            and _declared_alg(k) != _alg(jws)
            and _public(k).key_size >= spec.MIN_RSA_BITS
        )


class AnyCurve(LenientKeys):
    """``curve``: ES256 is checked on whatever curve the named key has (secp256k1 too)."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return _alg(jws) == spec.ALG_ES256 and any(
            _naive_verify(_public(k), spec.ALG_ES256, jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if k.get("kty") == "EC" and k.get("crv") != "P-256" and _for_signing(k)
        )


class UnpinnedAlgs(LenientKeys):
    """``issuer-algs``: any published key with its own algorithm, not only the pinned ES256."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return any(
            _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if _for_signing(k)
            and _declared_alg(k) == _alg(jws) != spec.ALG_ES256  # the chat app pins ES256
            and (k.get("kty") != "RSA" or _public(k).key_size >= spec.MIN_RSA_BITS)
        )


class WeakRsa(LenientKeys):
    """``weak-rsa``: an RSA key under 2048 bits verifies (its RS256 too)."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return any(
            _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
            for k in _with_kid(jws, jwks)
            if k.get("kty") == "RSA"
            and _public(k).key_size < spec.MIN_RSA_BITS
            and _declared_alg(k) == _alg(jws)
        )


class TryEveryKey(LenientKeys):
    """``kid-less``: a token without ``kid`` is tried against every published signing key."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return "kid" not in jws.header and any(
            _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
            for k in jwks
            if _for_signing(k) and _declared_alg(k) == _alg(jws)
        )


class LastKidWins(LenientKeys):
    """``duplicate-kid``: of two keys sharing a ``kid``, the last one published is used."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        same = _with_kid(jws, jwks)
        return (
            len(same) > 1
            and _declared_alg(same[-1]) == _alg(jws)
            and _naive_verify(_public(same[-1]), _alg(jws), jws.signing_input, jws.signature)
        )


class EmbeddedKey(LenientKeys):
    """``embedded-key``: the key in the token's ``jwk`` or ``x5c`` header verifies it."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        keys: list[Any] = []
        if isinstance(jws.header.get("jwk"), dict):
            keys.append(_public(jws.header["jwk"]))
        chain = jws.header.get("x5c")
        if isinstance(chain, list) and chain:
            keys.append(x509.load_der_x509_certificate(base64.b64decode(chain[0])).public_key())
        return any(_naive_verify(k, _alg(jws), jws.signing_input, jws.signature) for k in keys)


class FetchesJku(LenientKeys):
    """``jku``: the keys at the token's ``jku`` (or ``x5u``) URL verify it."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        for name in ("jku", "x5u"):
            url = jws.header.get(name)
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                fetched = httpx.get(url, timeout=5).json().get("keys", [])
                if any(
                    _naive_verify(_public(k), _alg(jws), jws.signing_input, jws.signature)
                    for k in _with_kid(jws, fetched)
                ):
                    return True
        return False


class AlgNone(LenientKeys):
    """``alg-none``: an unsigned token (``alg: none`` in any spelling) is accepted."""

    def accepts(self, jws: CompactJws, jwks: list[Jwk], issuer: str) -> bool:
        return _alg(jws).lower() == "none" and jws.signature == b""


LENIENT: dict[str, type[JwtBearerEndpoint]] = {
    "hmac-public-key": HmacWithPublicKey,
    "jwks-oct-key": JwksOctKey,
    "key-use": AnyKeyUse,
    "alg-from-header": AlgFromHeader,
    "curve": AnyCurve,
    "issuer-algs": UnpinnedAlgs,
    "weak-rsa": WeakRsa,
    "kid-less": TryEveryKey,
    "duplicate-kid": LastKidWins,
    "embedded-key": EmbeddedKey,
    "jku": FetchesJku,
    "alg-none": AlgNone,
}

__all__ = ["LENIENT"]
