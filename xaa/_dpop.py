"""DPoP (RFC 9449) for every hop of XAA, sans-I/O: proofs, checks, nonces, binding.

- Client: :class:`DpopKey` and :func:`make_proof` (RFC 9449 §4.2); downgrade
  checks :func:`check_cnf_binding` (draft §8.6.1.1 item 3) and
  :func:`check_dpop_token_type` (RFC 9449 §5); :func:`dpop_nonce_challenge`.
- Server: :func:`verify_proof` (RFC 9449 §4.3, one detail per check), the
  stateless :class:`HmacNonceSource` (RFC 9449 §8/§9) and
  :func:`bind_decision` (draft §8.6.1.2).
- Resource server: :func:`parse_authorization`, :func:`check_token_binding`
  (RFC 9449 §7.1/§7.2), :func:`www_authenticate_dpop`,
  :func:`resource_error_response`.

The proof's embedded ``jwk`` is the one key xaa ever takes from a token
header: that key is what the proof demonstrates, it authorises nothing by itself.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from . import rules, spec
from ._errors import (
    ConfigurationError,
    HttpResponse,
    InvalidDpopProof,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
    MalformedEncoding,
    OAuthError,
    ProtocolViolation,
    UseDpopNonce,
    json_response,
)
from ._jose import b64url_decode, parse_compact
from ._keys import SigningKey, UnusableKey, VerificationKey, b64url, jwk_thumbprint
from ._replay import NS_DPOP, ClaimFlow, ReplayClaim, ReplayStore, run_claims
from ._safejson import parse_json

DEFAULT_DPOP_ALGS: tuple[str, ...] = (
    spec.ALG_ES256,
    spec.ALG_EDDSA,
    spec.ALG_PS256,
    spec.ALG_RS256,
)
DEFAULT_MAX_AGE = 60
"""Seconds a proof stays acceptable after its ``iat`` (RFC 9449 §11.1: short)."""
DEFAULT_LEEWAY = 5
"""Clock skew tolerated on ``iat``, in both directions."""
DEFAULT_NONCE_STEP = 120
"""Seconds per server-nonce time step; the current and previous steps are accepted."""
MAX_PROOF_BYTES = 4096
MAX_JTI_CHARS = 256

# RFC 7517 §9.2 / RFC 7518 §6: members that only a private or symmetric key has.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_THUMBPRINT_MEMBERS = frozenset({"kty", "crv", "x", "y", "n", "e"})
_KEY_MEMBERS = {"EC": ("x", "y"), "OKP": ("x",), "RSA": ("n", "e")}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9\-._~]+|\[[0-9a-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")
_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_RESOURCE_401 = frozenset({"invalid_token", "invalid_dpop_proof", "use_dpop_nonce"})
_DPOP_CHALLENGE = re.compile(r"(?:^|[\s,])dpop\s", re.IGNORECASE)
_NQCHAR = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


# --- shared -----------------------------------------------------------------


def ath_for(access_token: str) -> str:
    """``ath``: base64url SHA-256 of the access token's ASCII bytes (RFC 9449 §4.2)."""
    return b64url(hashlib.sha256(access_token.encode()).digest())


def normalize_htu(uri: str) -> str:
    """The comparable form of an HTTP target URI (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2-3).

    Query and fragment are dropped; scheme and host are lowercased; the
    default port (80 for http, 443 for https) and an empty port are removed; an
    empty path becomes ``/``. The path is otherwise compared exactly (no
    percent-decoding, no dot-segment removal). Raises :class:`~xaa.MalformedEncoding`
    (a ``ValueError``) for anything that is not an absolute http(s) URI of printable
    ASCII without userinfo. Idempotent.
    """
    if not uri or not uri.isascii() or not uri.isprintable() or " " in uri:
        raise MalformedEncoding("not a printable ASCII URI")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise MalformedEncoding("not an http(s) URI")
    netloc = parts.netloc.lower()
    if "@" in netloc:
        raise MalformedEncoding("userinfo in URI")
    if netloc.startswith("["):
        host, _, rest = netloc.partition("]")
        host += "]"
        if rest and not rest.startswith(":"):
            raise MalformedEncoding("bad authority")
        port = rest[1:]
    else:
        host, _, port = netloc.partition(":")
    if not _HOST.fullmatch(host):
        raise MalformedEncoding("bad host")
    if port and (not _PORT.fullmatch(port) or int(port) > 65535):
        raise MalformedEncoding("bad port")
    keep_port = bool(port) and int(port) != _DEFAULT_PORTS[scheme]
    authority = f"{host}:{int(port)}" if keep_port else host
    return f"{scheme}://{authority}{parts.path or '/'}"


def _htu_for_request(url: str) -> str:
    """The request URL without query and fragment (RFC 9449 §4.2 ``htu``)."""
    parts = urlsplit(url)
    return parts._replace(query="", fragment="").geturl()


# --- client -----------------------------------------------------------------


class DpopKey:
    """A client's DPoP key pair (ES256 by default, EdDSA optional) and its ``jkt``."""

    __slots__ = ("_jwk", "_key", "jkt")

    def __init__(self, key: SigningKey) -> None:
        public = key.key.as_dict(private=False)
        self._key = key
        self._jwk = {k: str(v) for k, v in public.items() if k in _THUMBPRINT_MEMBERS}
        self.jkt = jwk_thumbprint(self._jwk)
        """RFC 7638 SHA-256 thumbprint of the public key (RFC 9449 §6.1)."""

    def __repr__(self) -> str:
        return f"DpopKey(alg={self.alg!r}, jkt={self.jkt!r})"

    @classmethod
    def generate(cls, alg: str = spec.ALG_ES256) -> DpopKey:
        """A fresh key pair for ``alg``."""
        return cls(SigningKey.generate(alg))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> DpopKey:
        """Load a key saved with :meth:`private_jwk`."""
        return cls(SigningKey.from_jwk(jwk))

    @property
    def alg(self) -> str:
        """The one algorithm this key signs proofs with."""
        return self._key.alg

    def public_jwk(self) -> dict[str, str]:
        """The ``jwk`` header value: the RFC 7638 required public members only."""
        return dict(self._jwk)

    def private_jwk(self) -> dict[str, Any]:
        """The private JWK, to persist the key (store it safely)."""
        return self._key.private_jwk()

    def sign(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        """A compact JWS of ``payload`` under ``header`` plus ``alg`` (no ``kid``)."""
        h = b64url(json.dumps({**header, "alg": self.alg}, separators=(",", ":")).encode())
        p = b64url(json.dumps(payload, separators=(",", ":")).encode())
        return f"{h}.{p}.{b64url(self._key.sign(f'{h}.{p}'.encode('ascii')))}"


def make_proof(
    key: DpopKey,
    htm: str,
    htu: str,
    *,
    now: float | None = None,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A fresh DPoP proof JWT for one request (RFC 9449 §4.2).

    ``htu`` is the request URL; its query and fragment are dropped. Pass
    ``access_token`` at a resource server: the proof then carries its ``ath``.
    ``nonce`` is the last ``DPoP-Nonce`` the server sent.
    """
    payload: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": htm,
        "htu": _htu_for_request(htu),
        "iat": int(time.time() if now is None else now),
    }
    if access_token is not None:
        payload["ath"] = ath_for(access_token)
    if nonce is not None:
        payload["nonce"] = nonce
    return key.sign({"typ": spec.TYP_DPOP, "jwk": key.public_jwk()}, payload)


def check_cnf_binding(cnf: object, key: DpopKey) -> None:
    """Client side, after sending a proof: the ID-JAG's ``cnf.jkt`` must be our key's.

    Draft §8.6.1.1 item 3: an IdP that ignored the proof would silently
    downgrade to an unbound grant. Raises :class:`ProtocolViolation`.
    """
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if jkt != key.jkt:
        raise ProtocolViolation(rules.DPOP_DOWNGRADE, "the ID-JAG is not bound to our DPoP key")


def check_dpop_token_type(token_type: object) -> None:
    """Client side, when DPoP was required: ``token_type`` must be ``DPoP`` (RFC 9449 §5).

    Compared case-insensitively (RFC 6749 §7.1). Raises :class:`ProtocolViolation`.
    """
    if not isinstance(token_type, str) or token_type.lower() != spec.TOKEN_TYPE_DPOP.lower():
        raise ProtocolViolation(rules.DPOP_DOWNGRADE, "the access token is not DPoP-bound")


def dpop_nonce_challenge(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """The nonce a ``use_dpop_nonce`` response asks for, else ``None`` (RFC 9449 §8, §9).

    ``headers`` has lowercase names. An AS answers 400 with the error in the
    JSON body, an RS 401 with it in ``WWW-Authenticate``; both send ``DPoP-Nonce``.
    Raises :class:`ProtocolViolation` when the nonce is not NQCHAR.
    """
    nonce = headers.get(spec.H_DPOP_NONCE)
    if nonce is None:
        return None
    if status == 400:
        try:
            error = parse_json(body).get(spec.R_ERROR)
        except (ValueError, AttributeError):
            return None
        asked = error == UseDpopNonce.error
    elif status == 401:
        challenge = headers.get(spec.H_WWW_AUTHENTICATE, "")
        asked = bool(_DPOP_CHALLENGE.search(challenge)) and 'error="use_dpop_nonce"' in challenge
    else:
        return None
    if not asked:
        return None
    if not _NQCHAR.fullmatch(nonce):
        raise ProtocolViolation(rules.DPOP_NONCE, "the DPoP-Nonce header is not NQCHAR")
    return nonce


# --- server: nonces ---------------------------------------------------------


class DpopNonceSource(Protocol):
    """Issues and checks server nonces (RFC 9449 §8 at an AS, §9 at an RS)."""

    def issue(self, now: float) -> str:
        """A nonce valid from ``now``."""
        ...

    def check(self, nonce: str, now: float) -> bool:
        """True when ``nonce`` is still acceptable at ``now``."""
        ...


class HmacNonceSource:
    """Stateless nonces: HMAC-SHA256 of the time step under a server secret.

    A nonce is valid in the step it was issued in and the next one, so for
    between ``step`` and ``2 * step`` seconds. Servers sharing the secret share
    nonces. ``clock`` serves calls that pass no ``now``.
    """

    __slots__ = ("_clock", "_secret", "step")

    def __init__(
        self,
        secret: bytes,
        *,
        step: int = DEFAULT_NONCE_STEP,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 32:
            raise ConfigurationError("the nonce secret needs at least 32 bytes")
        if step < 1:
            raise ConfigurationError("the nonce step must be at least one second")
        self._secret = secret
        self._clock = clock
        self.step = step

    def __repr__(self) -> str:
        return f"HmacNonceSource(step={self.step})"

    def _nonce(self, counter: int) -> bytes:
        msg = b"xaa-dpop-nonce:" + counter.to_bytes(8, "big", signed=True)
        return b64url(hmac.new(self._secret, msg, hashlib.sha256).digest()).encode()

    def _counter(self, now: float | None) -> int:
        return int((self._clock() if now is None else now) // self.step)

    def issue(self, now: float | None = None) -> str:
        """The nonce of the current time step."""
        return self._nonce(self._counter(now)).decode()

    def check(self, nonce: str, now: float | None = None) -> bool:
        """True for the current or previous step's nonce (constant-time compare)."""
        counter = self._counter(now)
        given = nonce.encode()
        current = hmac.compare_digest(given, self._nonce(counter))
        previous = hmac.compare_digest(given, self._nonce(counter - 1))
        return current | previous


# --- server: proof verification ----------------------------------------------


class DpopProofClaims(BaseModel):
    """RFC 9449 §4.2 proof claims, JSON types checked strictly (``iat`` an integer)."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)
    jti: Annotated[str, StringConstraints(min_length=1, max_length=MAX_JTI_CHARS)]
    htm: NonEmpty
    htu: NonEmpty
    iat: int
    ath: NonEmpty | None = None
    nonce: NonEmpty | None = None


@dataclass(frozen=True, slots=True)
class DpopProofResult:
    """A proof that passed every check: its key thumbprint and what it proved."""

    jkt: str
    jti: str
    alg: str
    htm: str
    htu: str
    iat: int
    nonce: str | None
    jwk: dict[str, str] = field(repr=False)


def _embedded_key(
    jwk: Mapping[str, Any], alg: str, error: type[OAuthError]
) -> tuple[VerificationKey, str]:
    """The proof's ``jwk`` and its jkt, once checked to be a public key fitting ``alg``."""
    if _PRIVATE_MEMBERS & jwk.keys():
        raise error(detail="jwk carries private key members")
    try:
        key, jkt = _import_jwk(json.dumps(jwk, sort_keys=True, separators=(",", ":")), alg)
    except UnusableKey as exc:
        raise error(detail=f"jwk unusable: {exc}") from None
    except Exception:  # joserfc and cryptography raise assorted errors for bad points
        raise error(detail="jwk unusable: not importable") from None
    if not _canonical(jwk):
        raise error(detail="jwk members are not canonical")
    return key, jkt


@functools.lru_cache(maxsize=4096)
def _import_jwk(jwk_json: str, alg: str) -> tuple[VerificationKey, str]:
    """Import a proof key once: a client signs many proofs with one key (errors not cached)."""
    jwk = json.loads(jwk_json)
    return VerificationKey.from_jwk(jwk, alg), jwk_thumbprint(jwk)


def _canonical(jwk: Mapping[str, Any]) -> bool:
    """Key members in their one RFC 7518 §6 spelling, so one key has one jkt."""
    members = _KEY_MEMBERS[jwk["kty"]]  # kty and these members were checked on import
    try:
        raw = {name: b64url_decode(jwk[name]) for name in members}
    except ValueError:
        return False
    return all(raw[name][:1] != b"\0" for name in ("n", "e") if name in raw)


@functools.lru_cache(maxsize=256)
def _normalized_htu(uri: str) -> str:
    """:func:`normalize_htu`, cached: a server compares the same few URIs on every proof."""
    return normalize_htu(uri)


def _same_htu(claimed: str, expected: str, error: type[OAuthError]) -> str:
    try:
        want = _normalized_htu(expected)
    except ValueError:
        raise error(detail="request URI is not an http(s) URI") from None
    try:
        got = _normalized_htu(claimed)
    except ValueError:
        raise error(detail="htu is not an http(s) URI") from None
    if got != want:
        raise error(detail="htu mismatch")
    return want


def verify_proof(
    proof: str | Sequence[str],
    *,
    htm: str,
    htu: str,
    replay: ReplayStore,
    now: float | None = None,
    accepted_algs: Collection[str] = DEFAULT_DPOP_ALGS,
    max_age: int = DEFAULT_MAX_AGE,
    leeway: int = DEFAULT_LEEWAY,
    nonce: DpopNonceSource | None = None,
    access_token: str | None = None,
    error: type[OAuthError] = InvalidDpopProof,
    max_bytes: int = MAX_PROOF_BYTES,
) -> DpopProofResult:
    """Check a DPoP proof against the request it came with (RFC 9449 §4.3).

    ``proof`` is every value of the ``DPoP`` header. ``htm`` is the request
    method, ``htu`` the request URI (use the configured endpoint URL, not
    the Host header). ``iat`` must lie in ``[now - max_age - leeway, now + leeway]``.
    With ``nonce``, a missing or stale nonce raises :class:`UseDpopNonce`
    carrying a fresh ``DPoP-Nonce``; with ``access_token``, ``ath`` is
    required. The ``jti`` is claimed once per key in ``replay``. Any other
    defect raises ``error``; an unavailable store raises 503.
    """
    result, call = check_proof(
        proof,
        htm=htm,
        htu=htu,
        replay=replay,
        now=now,
        accepted_algs=accepted_algs,
        max_age=max_age,
        leeway=leeway,
        nonce=nonce,
        access_token=access_token,
        error=error,
        max_bytes=max_bytes,
    )
    run_claims(spend_jti(call, error))
    return result


def spend_jti(call: ReplayClaim, error: type[OAuthError] = InvalidDpopProof) -> ClaimFlow[None]:
    """The proof's ``jti`` claim that :func:`check_proof` returned, as a flow: a proof
    is accepted once per key (RFC 9449 §11.1), a replay raises ``error``."""
    if (yield call) is not None:
        raise error(detail="jti replayed")


def check_proof(
    proof: str | Sequence[str],
    *,
    htm: str,
    htu: str,
    replay: ReplayStore,
    now: float | None = None,
    accepted_algs: Collection[str] = DEFAULT_DPOP_ALGS,
    max_age: int = DEFAULT_MAX_AGE,
    leeway: int = DEFAULT_LEEWAY,
    nonce: DpopNonceSource | None = None,
    access_token: str | None = None,
    error: type[OAuthError] = InvalidDpopProof,
    max_bytes: int = MAX_PROOF_BYTES,
) -> tuple[DpopProofResult, ReplayClaim]:
    """:func:`verify_proof` up to its last step: every check but the ``jti`` claim, which
    is returned for the caller to make (a result other than ``None`` is a replay: raise
    ``error``). Async servers await the claim on an :class:`~xaa.AsyncReplayStore`."""
    values = [proof] if isinstance(proof, str) else list(proof)
    if len(values) != 1:
        raise error(detail="DPoP header missing" if not values else "more than one DPoP header")
    jws = parse_compact(values[0], error=error, max_bytes=max_bytes)
    header = jws.header
    if header.get("typ") != spec.TYP_DPOP:
        raise error(detail="typ is not dpop+jwt")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in accepted_algs or alg not in spec.SUPPORTED_ALGS:
        raise error(detail="alg not accepted")
    if "crit" in header:
        raise error(detail="crit header not supported")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise error(detail="jwk header missing")
    key, jkt = _embedded_key(jwk, alg, error)
    if not key.verify(jws.signing_input, jws.signature):
        raise error(detail="signature invalid")
    try:
        claims = DpopProofClaims.model_validate(jws.payload)
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]) if err["loc"] else "?" for err in exc.errors()})
        raise error(detail=f"claims missing or mistyped: {','.join(names)}") from None
    if claims.htm != htm:
        raise error(detail="htm mismatch")
    request_uri = _same_htu(claims.htu, htu, error)
    t = time.time() if now is None else now
    if claims.iat > t + leeway:
        raise error(detail="iat in the future")
    if claims.iat < t - max_age - leeway:
        raise error(detail="proof too old")
    if nonce is not None and (claims.nonce is None or not nonce.check(claims.nonce, t)):
        raise UseDpopNonce(
            detail="nonce missing" if claims.nonce is None else "nonce stale or unknown",
            headers={spec.H_DPOP_NONCE: nonce.issue(t)},
        )
    if access_token is not None:
        if claims.ath is None:
            raise error(detail="ath missing")
        if not hmac.compare_digest(claims.ath.encode(), ath_for(access_token).encode()):
            raise error(detail="ath mismatch")
    expires_at = claims.iat + max_age + leeway + 1
    call = ReplayClaim(replay, NS_DPOP, jkt, claims.jti, request_uri, expires_at, t)
    public = {k: v for k, v in jwk.items() if k in _THUMBPRINT_MEMBERS}
    result = DpopProofResult(
        jkt, claims.jti, alg, claims.htm, claims.htu, claims.iat, claims.nonce, public
    )
    return result, call


# --- authorization servers: binding -------------------------------------------


def bind_decision(
    id_jag_cnf_jkt: str | None, proof_jkt: str | None, resource_requires_dpop: bool
) -> str | None:
    """The jkt to bind the access token to, or ``None`` for a Bearer token (draft §8.6.1.2).

    - ``cnf`` and a proof: the thumbprints must match exactly, else ``invalid_grant``.
    - ``cnf`` without a proof: ``invalid_grant``.
    - a proof without ``cnf``: bind to the proof's key.
    - neither: Bearer, unless the resource requires constrained tokens (``invalid_grant``).
    """
    if id_jag_cnf_jkt is not None:
        if proof_jkt is None:
            raise InvalidGrant(
                "Proof of possession required for this authorization grant.",
                detail="ID-JAG has cnf but no DPoP proof was presented",
            )
        if not hmac.compare_digest(id_jag_cnf_jkt.encode(), proof_jkt.encode()):
            raise InvalidGrant(detail="cnf.jkt does not match the DPoP proof key")
        return proof_jkt
    if proof_jkt is not None:
        return proof_jkt
    if resource_requires_dpop:
        raise InvalidGrant(
            "Sender-constrained tokens required for this resource server.",
            detail="no cnf and no DPoP proof, but the resource requires DPoP",
        )
    return None


# --- resource servers ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationCredentials:
    """The ``Authorization`` header: ``Bearer`` or ``DPoP`` and the token (RFC 9449 §7.1)."""

    scheme: str
    token: str = field(repr=False)


def parse_authorization(values: Sequence[str]) -> AuthorizationCredentials | None:
    """Parse every ``Authorization`` header value (RFC 9110 §11.6.2, RFC 6750 §2.1).

    ``None`` when there is none or its scheme is neither ``Bearer`` nor
    ``DPoP`` (compared case-insensitively; returned in canonical spelling).
    More than one header or malformed credentials raise ``invalid_request``.
    """
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(detail="more than one Authorization header")
    scheme, _, rest = values[0].strip(" \t").partition(" ")
    canonical = {s.lower(): s for s in (spec.TOKEN_TYPE_BEARER, spec.TOKEN_TYPE_DPOP)}
    if not _SCHEME.fullmatch(scheme) or scheme.lower() not in canonical:
        return None
    token = rest.lstrip(" ")
    if not _TOKEN68.fullmatch(token):
        raise InvalidRequest(detail="malformed credentials")
    return AuthorizationCredentials(canonical[scheme.lower()], token)


def check_token_binding(scheme: str, cnf_jkt: str | None, proof_jkt: str | None) -> None:
    """Whether the token may be used as presented (RFC 9449 §7.1, §7.2).

    A DPoP-bound token (``cnf.jkt``) sent with ``Bearer`` is ``invalid_token``
    (the downgrade); a ``DPoP`` token without ``cnf.jkt`` is ``invalid_token``;
    a proof key other than ``cnf.jkt`` is ``invalid_dpop_proof``.
    """
    if scheme == spec.TOKEN_TYPE_BEARER:
        if cnf_jkt is not None:
            raise InvalidToken(detail="DPoP-bound token sent with the Bearer scheme")
        return
    if cnf_jkt is None:
        raise InvalidToken(detail="DPoP scheme but the token is not DPoP-bound")
    if proof_jkt is None:
        raise InvalidDpopProof(detail="DPoP header missing")
    if not hmac.compare_digest(cnf_jkt.encode(), proof_jkt.encode()):
        raise InvalidDpopProof(detail="proof key does not match cnf.jkt")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def www_authenticate_dpop(
    *,
    algs: Sequence[str] = DEFAULT_DPOP_ALGS,
    error: str | None = None,
    error_description: str | None = None,
    params: Mapping[str, str] | None = None,
) -> str:
    """A ``WWW-Authenticate: DPoP ...`` challenge (RFC 9449 §7.1).

    ``params`` adds members such as ``scope`` or ``resource_metadata`` (RFC 9728 §5.1).
    """
    items: list[tuple[str, str]] = []
    if error is not None:
        items.append(("error", error))
    if error_description is not None:
        items.append(("error_description", error_description))
    items.extend((params or {}).items())
    items.append(("algs", " ".join(algs)))
    return "DPoP " + ", ".join(f"{name}={_quoted(value)}" for name, value in items)


def resource_error_response(
    exc: OAuthError,
    *,
    algs: Sequence[str] = DEFAULT_DPOP_ALGS,
    params: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Render an error at a resource server for the DPoP scheme (RFC 9449 §7.1, §9).

    ``invalid_dpop_proof``, ``use_dpop_nonce`` and ``invalid_token`` become
    401 with a DPoP challenge (``DPoP-Nonce`` kept); 403 and 400 errors keep
    their status with the challenge; 5xx errors are rendered unchanged.
    """
    if exc.status >= 500:
        return exc.to_response()
    status = 401 if exc.error in _RESOURCE_401 else exc.status
    challenge = www_authenticate_dpop(
        algs=algs, error=exc.error, error_description=exc.description, params=params
    )
    headers = {**exc.headers, spec.H_WWW_AUTHENTICATE: challenge}
    return json_response(status, exc.body(), headers)


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
