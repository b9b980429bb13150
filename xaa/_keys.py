"""Signing and verification keys, each pinned to exactly one algorithm.

- :class:`SigningKey`: a private key with ``kid`` and one ``alg``.
- :class:`VerificationKey` / :class:`JwkSet`: public keys to verify with; a
  key never verifies a signature made with another algorithm (RFC 8725 §3.1).
- :class:`KeyRing`: rotation states ``next`` -> ``current`` -> ``retired``; the
  JWKS publishes a key before it signs (for at least a minimum staging period,
  :data:`DEFAULT_MIN_STAGING`) and after it stops signing.
- :func:`jwk_thumbprint`: RFC 7638 SHA-256 thumbprint from required members only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from . import spec
from ._errors import XaaError

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


# How long a staged key must be published before it may sign: the resource side's default
# JWKS cache lifetime (``xaa.resource._trust.DEFAULT_KEYS_TTL``), so every resource server
# that refreshes its cache only when it expires already holds the key (docs/core.md).
DEFAULT_MIN_STAGING = 3600.0


class UnusableKey(XaaError, ValueError):
    """A key cannot be used: wrong type, too small, unknown algorithm."""


class RotationRefused(XaaError, RuntimeError):
    """:meth:`KeyRing.rotate` would sign with a key resource servers may not have yet."""


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
        """Import a public JWK; ``alg`` pins the algorithm when the JWK has none.

        A key published for another use (``use`` other than ``sig``, or ``key_ops``
        without ``verify``, RFC 7517 §4.2, §4.3) never verifies a signature.
        """
        if jwk.get("use", "sig") != "sig":
            raise UnusableKey("the key is not published for signatures (use)")
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            raise UnusableKey("the key is not published for verification (key_ops)")
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
        raw = jwks.get("keys") if isinstance(jwks, Mapping) else None
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

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the private JWK to ``path`` (mode 0600, replaced atomically)."""
        target = Path(path)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.private_jwk(), out)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Read a private JWK file written by :meth:`save` (:class:`UnusableKey` if unusable)."""
        try:
            jwk = json.loads(Path(path).read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UnusableKey(f"{path}: not a JSON JWK ({exc})") from None
        if not isinstance(jwk, dict):
            raise UnusableKey(f"{path}: not a JSON JWK object")
        try:
            return cls.from_jwk(jwk)
        except (UnusableKey, ValueError, TypeError) as exc:
            raise UnusableKey(f"{path}: {exc}") from None

    @classmethod
    def load_or_generate(
        cls, path: str | os.PathLike[str], alg: str = spec.DEFAULT_ALG
    ) -> SigningKey:
        """The key in ``path``; when the file does not exist, a fresh key saved there.

        A server that signs with it keeps its ``kid`` across restarts, so the
        caches of those who verify stay valid.
        """
        if Path(path).exists():
            return cls.load(path)
        key = cls.generate(alg)
        key.save(path)
        return key

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
    """A signing key with its rotation state; ``published_at`` is when it entered the JWKS."""

    key: SigningKey
    state: KeyState
    retired_at: float | None = None
    published_at: float | None = None


class KeyRing:
    """Signing keys through their rotation: exactly one ``current`` key signs.

    Publish before signing: :meth:`stage` puts the next key in the JWKS at once;
    :meth:`rotate` promotes it only after it has been published for
    ``min_staging`` seconds (else :class:`RotationRefused`), and retires the old
    key; :meth:`prune` removes retired keys once everything they signed has expired.
    """

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(
        self, keys: Iterable[ManagedKey], *, min_staging: float = DEFAULT_MIN_STAGING
    ) -> None:
        self.keys = list(keys)
        self.min_staging = min_staging
        current = [k for k in self.keys if k.state is KeyState.CURRENT]
        if len(current) != 1:
            raise UnusableKey("a key ring needs exactly one current key")

    @classmethod
    def single(cls, key: SigningKey, *, min_staging: float = DEFAULT_MIN_STAGING) -> KeyRing:
        """A ring whose only key is current."""
        return cls([ManagedKey(key, KeyState.CURRENT)], min_staging=min_staging)

    @property
    def current(self) -> SigningKey:
        """The key that signs now."""
        return next(k.key for k in self.keys if k.state is KeyState.CURRENT)

    @property
    def staged(self) -> ManagedKey | None:
        """The published key that signs after the next :meth:`rotate`, if any."""
        return next((k for k in self.keys if k.state is KeyState.NEXT), None)

    def stage(self, key: SigningKey, now: float) -> None:
        """Publish ``key`` at ``now`` as the next key (replacing a staged one)."""
        self.keys = [k for k in self.keys if k.state is not KeyState.NEXT]
        self.keys.append(ManagedKey(key, KeyState.NEXT, published_at=now))

    def rotatable_at(self) -> float | None:
        """When the staged key may start signing (``None``: nothing is staged)."""
        staged = self.staged
        if staged is None:
            return None
        return (staged.published_at or 0.0) + self.min_staging

    def rotate(self, now: float) -> SigningKey:
        """The staged key signs from ``now``; the old one is retired (still published).

        Raises :class:`RotationRefused` when nothing is staged or the staged key has
        been published for less than ``min_staging`` seconds: a resource server whose
        JWKS cache predates it would refuse what it signs.
        """
        staged, ready = self.staged, self.rotatable_at()
        if staged is None or ready is None:
            raise RotationRefused("no key is staged: stage (publish) one before rotating")
        if now < ready:
            raise RotationRefused(
                f"staged key {staged.key.kid} has been published for"
                f" {max(0, int(now - (staged.published_at or 0.0)))} s, less than the"
                f" {int(self.min_staging)} s minimum staging period; rotate in"
                f" {int(ready - now + 0.999)} s"
            )
        old = next(k for k in self.keys if k.state is KeyState.CURRENT)
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
