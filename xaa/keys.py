"""Signing and verification keys, each pinned to exactly one algorithm.

- :class:`SigningKey`: a private key with ``kid`` and one ``alg``.
- :class:`VerificationKey` / :class:`JwkSet`: public keys to verify with; a
  key never verifies a signature made with another algorithm (RFC 8725 §3.1).
- :class:`KeyRing`: rotation states ``next`` -> ``current`` -> ``retired``; the
  JWKS publishes a key before it signs and after it stops signing.
- :func:`jwk_thumbprint`: RFC 7638 SHA-256 thumbprint from required members only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from . import spec

log = logging.getLogger("xaa.keys")

AnyKey = ECKey | OKPKey | RSAKey

# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
# The one algorithm each key shape implies when a JWK names none (RFC 7518 §3.4, RFC 8037 §3.1).
_IMPLIED_ALG = {("EC", "P-256"): spec.ALG_ES256, ("OKP", "Ed25519"): spec.ALG_EDDSA}
_ALG_SHAPE = {
    spec.ALG_ES256: ("EC", "P-256"),
    spec.ALG_EDDSA: ("OKP", "Ed25519"),
    spec.ALG_RS256: ("RSA", None),
    spec.ALG_PS256: ("RSA", None),
}
_PUBLIC_MEMBERS = {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}


class UnusableKey(ValueError):
    """A key cannot be used: wrong type, too small, unknown algorithm."""


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, computed from the required members only."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise UnusableKey("unsupported key type for a thumbprint")
    values = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise UnusableKey(f"key member {name} is missing")
        values[name] = value
    canonical = json.dumps(values, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    n = jwk.get("n")
    if not isinstance(n, str):
        raise UnusableKey("RSA key without modulus")
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError:
        raise UnusableKey("RSA modulus is not base64url") from None
    return int.from_bytes(raw, "big").bit_length()


def _import(jwk: Mapping[str, Any]) -> AnyKey:
    kty = jwk.get("kty")
    if kty == "RSA" and _rsa_bits(jwk) < spec.MIN_RSA_BITS:  # before joserfc sees it
        raise UnusableKey(f"RSA keys must have at least {spec.MIN_RSA_BITS} bits")
    data = dict(jwk)
    if kty == "EC":
        return ECKey.import_key(data)
    if kty == "OKP":
        return OKPKey.import_key(data)
    if kty == "RSA":
        return RSAKey.import_key(data)
    raise UnusableKey("only EC, OKP and RSA keys are accepted (no symmetric keys)")


def _pin_alg(jwk: Mapping[str, Any], alg: str | None) -> str:
    """The single algorithm this key may verify or sign with."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    declared = jwk.get("alg")
    if alg is not None and declared is not None and alg != declared:
        raise UnusableKey("the key's alg member disagrees with the pinned algorithm")
    chosen = alg or declared
    if chosen is None:
        chosen = _IMPLIED_ALG.get((str(kty), str(crv)))
        if chosen is None and kty == "RSA":
            chosen = spec.ALG_RS256
    if not isinstance(chosen, str) or chosen not in spec.SUPPORTED_ALGS:
        raise UnusableKey("algorithm not supported")
    want_kty, want_crv = _ALG_SHAPE[chosen]
    if kty != want_kty or (want_crv is not None and crv != want_crv):
        raise UnusableKey("the key type does not fit the algorithm")
    return chosen


def _check_strength(key: AnyKey) -> None:
    if isinstance(key, RSAKey):
        bits = key.get_op_key("verify").key_size
        if bits < spec.MIN_RSA_BITS:
            raise UnusableKey(f"RSA keys must have at least {spec.MIN_RSA_BITS} bits")


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with its ``kid`` and the one algorithm it verifies."""

    kid: str | None
    alg: str
    key: AnyKey = field(repr=False)
    _op: Any = field(repr=False, compare=False)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any], alg: str | None = None) -> VerificationKey:
        """Import a public JWK; ``alg`` pins the algorithm when the JWK has none."""
        pinned = _pin_alg(jwk, alg)
        public = {k: v for k, v in jwk.items() if k in _PUBLIC_MEMBERS}
        key = _import(public)
        _check_strength(key)
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise UnusableKey("kid must be a string")
        return cls(kid, pinned, key, JWSRegistry.algorithms[pinned])

    def verify(self, signing_input: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's ``alg`` signature over ``signing_input``."""
        try:
            return bool(self._op.verify(signing_input, signature, self.key))
        except Exception:  # malformed signatures surface as library-specific errors
            return False

    def public_jwk(self) -> dict[str, Any]:
        """Public members only, with ``kid``, ``alg`` and ``use``."""
        out = {k: v for k, v in self.key.as_dict(private=False).items() if k in _PUBLIC_MEMBERS}
        out["alg"] = self.alg
        out["use"] = "sig"
        if self.kid is not None:
            out["kid"] = self.kid
        return out

    def thumbprint(self) -> str:
        """RFC 7638 thumbprint of this key."""
        return jwk_thumbprint(self.key.as_dict(private=False))


class JwkSet:
    """Public keys to verify with, looked up by ``kid``.

    Built with :meth:`from_jwks`: one bad key does not take down the set (it is
    skipped and logged), symmetric keys are refused, duplicate ``kid`` values
    make every key with that ``kid`` unusable (ambiguous).
    """

    def __init__(self, keys: Iterable[VerificationKey] = ()) -> None:
        self._keys = tuple(keys)
        by_kid: dict[str, VerificationKey] = {}
        dupes: set[str] = set()
        for key in self._keys:
            if key.kid is None:
                continue
            if key.kid in by_kid:
                dupes.add(key.kid)
            by_kid[key.kid] = key
        for kid in dupes:
            log.warning("JWKS has duplicate kid %r: those keys are not used", kid)
            del by_kid[kid]
        self._by_kid = by_kid

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any], alg: str | None = None) -> JwkSet:
        """Import a JWKS document (RFC 7517 §5), pinning ``alg`` where given."""
        raw = jwks.get("keys")
        if not isinstance(raw, list):
            raise UnusableKey("a JWKS must have a keys array")
        keys = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping):
                continue
            try:
                keys.append(VerificationKey.from_jwk(item, alg))
            except Exception as exc:
                log.warning("JWKS key #%d skipped: %s", index, exc)
        return cls(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Any:
        return iter(self._keys)

    def select(self, kid: str | None) -> VerificationKey | None:
        """The key for ``kid``; without ``kid`` only a set of exactly one key answers."""
        if kid is not None:
            return self._by_kid.get(kid)
        return self._keys[0] if len(self._keys) == 1 else None

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document."""
        return {"keys": [key.public_jwk() for key in self._keys]}


class SigningKey:
    """A private signing key with ``kid`` and one pinned ``alg``."""

    __slots__ = ("_op", "alg", "key", "kid")

    def __init__(self, key: AnyKey, alg: str, kid: str) -> None:
        if not key.is_private:
            raise UnusableKey("a signing key must be private")
        self.alg = _pin_alg(key.as_dict(private=False), alg)
        _check_strength(key)
        self.key = key
        self.kid = kid
        self._op = JWSRegistry.algorithms[self.alg]

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, alg={self.alg!r})"

    @classmethod
    def generate(cls, alg: str = spec.DEFAULT_ALG, kid: str | None = None) -> SigningKey:
        """A fresh key for ``alg`` (ES256 by default; RSA keys have 2048 bits)."""
        key: AnyKey
        if alg == spec.ALG_ES256:
            key = ECKey.generate_key("P-256")
        elif alg == spec.ALG_EDDSA:
            key = OKPKey.generate_key("Ed25519")
        elif alg in (spec.ALG_RS256, spec.ALG_PS256):
            key = RSAKey.generate_key(2048)
        else:
            raise UnusableKey("algorithm not supported")
        return cls(key, alg, kid or secrets.token_urlsafe(12))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any], alg: str | None = None) -> SigningKey:
        """Import a private JWK; it must carry ``kid``."""
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnusableKey("a signing key needs a kid")
        return cls(_import(jwk), _pin_alg(jwk, alg), kid)

    def sign(self, signing_input: bytes) -> bytes:
        """The raw JWS signature (RFC 7518 §3)."""
        return bytes(self._op.sign(signing_input, self.key))

    def private_jwk(self) -> dict[str, Any]:
        """The full private JWK with ``kid`` and ``alg`` (store it safely)."""
        out = dict(self.key.as_dict(private=True))
        out.update(kid=self.kid, alg=self.alg)
        return out

    def verification_key(self) -> VerificationKey:
        """The public half, pinned to the same algorithm."""
        public = dict(self.key.as_dict(private=False))
        public.update(kid=self.kid, alg=self.alg)
        return VerificationKey.from_jwk(public)

    def public_jwk(self) -> dict[str, Any]:
        """Public members only."""
        return self.verification_key().public_jwk()

    def thumbprint(self) -> str:
        """RFC 7638 thumbprint of the public key."""
        return jwk_thumbprint(self.key.as_dict(private=False))


class KeyState(StrEnum):
    """Rotation states: published before signing, published after signing."""

    NEXT = "next"
    CURRENT = "current"
    RETIRED = "retired"


@dataclass
class ManagedKey:
    """A signing key with its rotation state."""

    key: SigningKey
    state: KeyState
    retired_at: float | None = None


class KeyRing:
    """Signing keys through their rotation: exactly one ``current`` key signs.

    ``rotate`` promotes the ``next`` key (already published) to ``current`` and
    retires the old one; ``prune`` removes retired keys once everything they
    signed has expired.
    """

    def __init__(self, keys: Iterable[ManagedKey]) -> None:
        self.keys = list(keys)
        current = [k for k in self.keys if k.state is KeyState.CURRENT]
        if len(current) != 1:
            raise UnusableKey("a key ring needs exactly one current key")

    @classmethod
    def single(cls, key: SigningKey) -> KeyRing:
        """A ring whose only key is current."""
        return cls([ManagedKey(key, KeyState.CURRENT)])

    @property
    def current(self) -> SigningKey:
        """The key that signs now."""
        return next(k.key for k in self.keys if k.state is KeyState.CURRENT)

    def stage(self, key: SigningKey) -> None:
        """Publish ``key`` as the next key; it signs after :meth:`rotate`."""
        self.keys = [k for k in self.keys if k.state is not KeyState.NEXT]
        self.keys.append(ManagedKey(key, KeyState.NEXT))

    def rotate(self, now: float) -> SigningKey:
        """Promote the staged key (or a fresh one of the same alg) and retire the old."""
        staged = next((k for k in self.keys if k.state is KeyState.NEXT), None)
        old = next(k for k in self.keys if k.state is KeyState.CURRENT)
        if staged is None:
            staged = ManagedKey(SigningKey.generate(old.key.alg), KeyState.NEXT)
            self.keys.append(staged)
        old.state, old.retired_at = KeyState.RETIRED, now
        staged.state = KeyState.CURRENT
        return staged.key

    def prune(self, now: float, max_token_lifetime: float) -> None:
        """Drop retired keys whose last signature has expired."""
        self.keys = [
            k
            for k in self.keys
            if k.state is not KeyState.RETIRED
            or (k.retired_at is not None and k.retired_at + max_token_lifetime > now)
        ]

    def jwks(self) -> dict[str, Any]:
        """Every published key: next, current and retired."""
        return {"keys": [k.key.public_jwk() for k in self.keys]}

    def verification_keys(self) -> JwkSet:
        """A set that verifies what any published key signed."""
        return JwkSet(k.key.verification_key() for k in self.keys)
