"""Issue and verify the JWTs of XAA with one verifier and three profiles.

- ID-JAG (draft §3, §4.4.1): ``typ`` ``oauth-id-jag+jwt``; ``aud`` one issuer.
- JWT access token (RFC 9068 §4): ``typ`` ``at+jwt``; ``aud`` contains the resource.
- OIDC ID token (OpenID Connect Core §3.1.3.7): no ``typ`` or ``JWT``; ``aud``
  contains the client, ``azp`` required with several audiences.

Checks run in this order, each failure with its own log detail: size cap,
compact JWS shape, strict JSON, ``typ``, algorithm pinned by the key (never
``none`` or HMAC), signature, required claims and JSON types, ``iss``, ``aud``,
``client_id``, ``exp``/``nbf``/``iat`` with leeway, maximum lifetime, ``cnf``.

``typ`` is compared case-insensitively and ``application/`` may prefix it:
RFC 7515 §4.1.9 makes both spellings one media type. Issued tokens always use
the short lowercase form.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar, Unpack

from pydantic import BaseModel, ValidationError

from . import spec
from ._errors import InvalidGrant, InvalidRequest, InvalidToken, OAuthError
from ._jose import DEFAULT_MAX_TOKEN_BYTES, CompactJws, parse_compact, sign_compact, verify_compact
from ._keys import JwkSet, SigningKey, VerificationKey
from ._models import AccessTokenClaims, IdJagClaims, IdTokenClaims

__all__ = [
    "ACCESS_TOKEN",
    "DEFAULT_LEEWAY",
    "ID_JAG",
    "ID_TOKEN",
    "JwtProfile",
    "VerifiedJwt",
    "VerifyOptions",
    "client_id_ok",
    "issue_access_token",
    "issue_id_jag",
    "issue_id_token",
    "issue_jwt",
    "normalize_typ",
    "verify_access_token",
    "verify_id_jag",
    "verify_id_token",
    "verify_jwt",
    "verify_parsed",
]

C = TypeVar("C", bound=BaseModel)

DEFAULT_LEEWAY = 30
DEFAULT_MAX_ID_JAG_LIFETIME = 300
DEFAULT_MAX_ACCESS_TOKEN_LIFETIME = 3600
DEFAULT_MAX_ID_TOKEN_LIFETIME = 86400


def normalize_typ(value: object) -> str | None:
    """``typ`` as one lowercase media type without ``application/`` (RFC 7515 §4.1.9)."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return lowered.removeprefix("application/")


@dataclass(frozen=True, slots=True)
class JwtProfile(Generic[C]):
    """What makes a JWT one kind of token and not another.

    The checks of a profile live here once; servers (:func:`verify_parsed`) and the
    client's response processors (``xaa.client._requests``) both call them.
    ``expired`` and ``other_client`` are the public descriptions of those two refusals
    (``None``: the error's default description).
    """

    name: str
    claims: type[C]
    typs: frozenset[str | None]
    audience_rule: Literal["single", "contains"]
    error: type[OAuthError]
    max_lifetime: int
    expired: str | None = None
    other_client: str | None = None

    def typ_ok(self, header: Mapping[str, Any]) -> bool:
        """``typ`` names this kind of token (RFC 7515 §4.1.9, RFC 8725 §3.11)."""
        return normalize_typ(header.get("typ")) in self.typs

    def audience_ok(self, aud: str | list[str], expected: str) -> bool:
        """``aud`` is ``expected`` alone (draft §4.4.1: a string or a one-element array)
        or, for ``contains`` profiles, lists it (RFC 7519 §4.1.3)."""
        if isinstance(aud, str):
            return aud == expected
        return aud == [expected] if self.audience_rule == "single" else expected in aud


def client_id_ok(claims: object, client_id: str) -> bool:
    """The token's ``client_id`` claim names ``client_id`` (draft §4.4.1, RFC 9068 §2.2)."""
    return getattr(claims, "client_id", None) == client_id


ID_JAG = JwtProfile(
    "ID-JAG",
    IdJagClaims,
    frozenset({spec.TYP_ID_JAG}),
    "single",
    InvalidGrant,
    DEFAULT_MAX_ID_JAG_LIFETIME,
)
ACCESS_TOKEN = JwtProfile(
    "access token",
    AccessTokenClaims,
    frozenset({spec.TYP_ACCESS_TOKEN}),
    "contains",
    InvalidToken,
    DEFAULT_MAX_ACCESS_TOKEN_LIFETIME,
)
ID_TOKEN = JwtProfile(
    "ID token",
    IdTokenClaims,
    frozenset({None, "jwt"}),
    "contains",
    InvalidRequest,
    DEFAULT_MAX_ID_TOKEN_LIFETIME,
)


@dataclass(frozen=True, slots=True)
class VerifiedJwt(Generic[C]):
    """A JWT whose signature and claims passed every check."""

    header: dict[str, Any]
    claims: C
    key: VerificationKey


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _validated_claims(profile: JwtProfile[C], payload: Mapping[str, Any]) -> C:
    try:
        return profile.claims.model_validate(payload)
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]) if err["loc"] else "?" for err in exc.errors()})
        raise profile.error(detail=f"claims missing or mistyped: {','.join(names)[:200]}") from None


def _check_times(
    profile: JwtProfile[C],
    claims: Any,
    now: float,
    leeway: int,
    max_lifetime: int,
) -> None:
    exp, iat, nbf = claims.exp, claims.iat, claims.nbf
    if now >= exp + leeway:
        raise profile.error(profile.expired, detail="expired")
    if nbf is not None and now < nbf - leeway:
        raise profile.error(detail="nbf in the future")
    if iat > now + leeway:
        raise profile.error(detail="iat in the future")
    if exp <= iat:
        raise profile.error(detail="exp not after iat")
    if exp - iat > max_lifetime:
        raise profile.error(detail="lifetime exceeds maximum")


class VerifyOptions(TypedDict, total=False):
    """The optional knobs every ``verify_*`` takes, as keywords.

    ``now`` (default: the clock), ``leeway`` seconds for ``exp``/``nbf``/``iat``
    (default 30), ``max_lifetime`` (default: the profile's), ``max_bytes`` before
    parsing (default 8192; ignored by :func:`verify_parsed`, the token is parsed),
    ``allow_cnf`` (default ``False``: pass ``True`` only when the caller checks the
    proof of possession, draft §8.6.1.2).
    """

    now: float | None
    leeway: int
    max_lifetime: int | None
    max_bytes: int
    allow_cnf: bool


def verify_jwt(
    token: object,
    profile: JwtProfile[C],
    *,
    keys: JwkSet,
    issuer: str,
    audience: str,
    client_id: str | None = None,
    **options: Unpack[VerifyOptions],
) -> VerifiedJwt[C]:
    """Verify ``token`` as a ``profile`` JWT; any defect raises ``profile.error``.

    With ``client_id``, the token's ``client_id`` claim must name that client.
    """
    max_bytes = options.get("max_bytes", DEFAULT_MAX_TOKEN_BYTES)
    jws = parse_compact(token, error=profile.error, max_bytes=max_bytes)
    return verify_parsed(
        jws, profile, keys=keys, issuer=issuer, audience=audience, client_id=client_id, **options
    )


def verify_parsed(
    jws: CompactJws,
    profile: JwtProfile[C],
    *,
    keys: JwkSet,
    issuer: str,
    audience: str,
    client_id: str | None = None,
    **options: Unpack[VerifyOptions],
) -> VerifiedJwt[C]:
    """:func:`verify_jwt` for a token already split by :func:`xaa.parse_compact`."""
    error = profile.error
    if not profile.typ_ok(jws.header):
        raise error(detail=f"typ is not that of an {profile.name}")
    key = verify_compact(jws, keys, error=error)
    claims: Any = _validated_claims(profile, jws.payload)
    if claims.iss != issuer:
        raise error(detail="iss mismatch")
    if not profile.audience_ok(claims.aud, audience):
        raise error(detail="aud mismatch")
    now, leeway = _now(options.get("now")), options.get("leeway", DEFAULT_LEEWAY)
    _check_times(profile, claims, now, leeway, options.get("max_lifetime") or profile.max_lifetime)
    if client_id is not None and not client_id_ok(claims, client_id):
        raise error(
            profile.other_client, detail=f"client_id: {profile.name} issued to another client"
        )
    cnf = getattr(claims, "cnf", None)
    if cnf is not None and not options.get("allow_cnf", False):
        raise error(detail="cnf present but proof of possession is not checked")
    return VerifiedJwt(jws.header, claims, key)


def verify_id_jag(
    token: object,
    *,
    keys: JwkSet,
    issuer: str,
    audience: str,
    client_id: str,
    **options: Unpack[VerifyOptions],
) -> VerifiedJwt[IdJagClaims]:
    """Verify an ID-JAG for the resource AS ``audience`` and the authenticated ``client_id``.

    Raises :class:`~xaa.InvalidGrant` (draft §4.4.1). Pass
    ``allow_cnf=True`` only when the caller checks the DPoP proof against
    ``cnf.jkt`` (draft §8.6.1.2). ``options``: :class:`VerifyOptions`.
    """
    return verify_jwt(
        token, ID_JAG, keys=keys, issuer=issuer, audience=audience, client_id=client_id, **options
    )


def verify_access_token(
    token: object, *, keys: JwkSet, issuer: str, resource: str, **options: Unpack[VerifyOptions]
) -> VerifiedJwt[AccessTokenClaims]:
    """Verify an RFC 9068 access token for ``resource``; raises ``InvalidToken``.
    ``options``: :class:`VerifyOptions`."""
    return verify_jwt(token, ACCESS_TOKEN, keys=keys, issuer=issuer, audience=resource, **options)


def verify_id_token(
    token: object,
    *,
    keys: JwkSet,
    issuer: str,
    client_id: str,
    error: type[OAuthError] = InvalidRequest,
    **options: Unpack[VerifyOptions],
) -> VerifiedJwt[IdTokenClaims]:
    """Verify an OIDC ID token issued to ``client_id`` (``aud`` contains it, ``azp`` agrees).

    Raises ``error`` (``invalid_request`` by default: RFC 8693 §2.2.2 for a
    subject token). Access tokens, ID-JAGs and DPoP proofs are refused by ``typ``.
    ``options``: :class:`VerifyOptions` (``allow_cnf`` does not apply).
    """
    profile = ID_TOKEN if error is InvalidRequest else _id_token_profile(error)
    options.pop("allow_cnf", None)
    verified = verify_jwt(token, profile, keys=keys, issuer=issuer, audience=client_id, **options)
    claims = verified.claims
    several = isinstance(claims.aud, list) and len(claims.aud) > 1
    if (several and claims.azp is None) or (claims.azp is not None and claims.azp != client_id):
        raise error(detail="azp does not name the client")
    return verified


def _id_token_profile(error: type[OAuthError]) -> JwtProfile[IdTokenClaims]:
    return JwtProfile(
        ID_TOKEN.name, IdTokenClaims, ID_TOKEN.typs, "contains", error, ID_TOKEN.max_lifetime
    )


def issue_jwt(claims: BaseModel | Mapping[str, Any], key: SigningKey, *, typ: str | None) -> str:
    """Sign ``claims`` with ``key``; ``typ`` goes into the header when given."""
    payload = (
        claims.model_dump(mode="json", exclude_none=True)
        if isinstance(claims, BaseModel)
        else dict(claims)
    )
    header = {"typ": typ} if typ is not None else {}
    return sign_compact(header, payload, key)


def issue_id_jag(claims: IdJagClaims, key: SigningKey) -> str:
    """Sign an ID-JAG (``typ`` ``oauth-id-jag+jwt``, draft §3)."""
    return issue_jwt(claims, key, typ=spec.TYP_ID_JAG)


def issue_access_token(claims: AccessTokenClaims, key: SigningKey) -> str:
    """Sign an RFC 9068 access token (``typ`` ``at+jwt``)."""
    return issue_jwt(claims, key, typ=spec.TYP_ACCESS_TOKEN)


def issue_id_token(claims: IdTokenClaims, key: SigningKey) -> str:
    """Sign an OIDC ID token (``typ`` ``JWT``)."""
    return issue_jwt(claims, key, typ=spec.TYP_JWT)
