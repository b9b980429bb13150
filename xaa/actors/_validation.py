"""Validate an ``actor_token`` (RFC 8693 §2.1, draft §4.3, §8.5) into a :class:`ValidatedActor`.

Two ``actor_token_type`` values are accepted, each from configured issuers only:

- ``urn:ietf:params:oauth:token-type:jwt``: a workload-identity JWT such as a
  SPIFFE JWT-SVID. ``typ`` absent, ``JWT`` or ``JOSE`` (JWT-SVID §2.3); any
  other ``typ`` (``oauth-id-jag+jwt``, ``at+jwt``, ``dpop+jwt``,
  ``client-authentication+jwt``) is refused. It must not carry ``act``.
- ``urn:ietf:params:oauth:token-type:access_token``: an RFC 9068 access token
  (``typ`` ``at+jwt``) issued to the authenticated client. Its ``act`` chain,
  if any, becomes the earlier actors of the new chain.

Every defect raises :class:`~xaa.InvalidRequest` (RFC 8693 §2.2.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .. import spec
from .._errors import ConfigurationError, InvalidRequest
from .._jose import DEFAULT_MAX_TOKEN_BYTES, parse_compact
from .._keys import JwkSet
from .._models import AccessTokenClaims, Actor, NonEmpty, RegisteredClaims
from .._tokens import ACCESS_TOKEN, DEFAULT_LEEWAY, JwtProfile, verify_parsed
from ._spiffe import InvalidSpiffeId, SpiffeId, check_trust_domain, looks_like_spiffe

DEFAULT_MAX_WORKLOAD_JWT_LIFETIME = 300
DEFAULT_MAX_ACTOR_ACCESS_TOKEN_LIFETIME = 3600
HARD_MAX_DEPTH = 8
ACTOR_TOKEN_TYPES = frozenset({spec.TOKEN_TYPE_JWT, spec.TOKEN_TYPE_ACCESS_TOKEN})


class WorkloadJwtClaims(RegisteredClaims):
    """Claims of a workload-identity JWT (JWT-SVID §3); ``iss`` and ``iat`` are required here."""

    jti: NonEmpty | None = None


WORKLOAD_JWT = JwtProfile(
    "actor JWT",
    WorkloadJwtClaims,
    frozenset({None, "jwt", "jose"}),
    "contains",
    InvalidRequest,
    DEFAULT_MAX_WORKLOAD_JWT_LIFETIME,
)
# An RFC 9068 access token as xaa._tokens.ACCESS_TOKEN checks it, refused as an
# actor_token is (RFC 8693 §2.2.2 invalid_request), with the actor token's lifetime.
ACTOR_ACCESS_TOKEN = replace(
    ACCESS_TOKEN, error=InvalidRequest, max_lifetime=DEFAULT_MAX_ACTOR_ACCESS_TOKEN_LIFETIME
)


@dataclass(frozen=True, slots=True)
class ActorIssuer:
    """An issuer this IdP accepts actor tokens from, for one ``actor_token_type``.

    ``trust_domain`` set: every ``sub`` must be a SPIFFE ID in that trust
    domain. Unset: a ``sub`` using the ``spiffe`` scheme is refused (only an
    issuer configured for a trust domain may speak for it).
    """

    issuer: str
    keys: JwkSet = field(repr=False)
    token_type: str = spec.TOKEN_TYPE_JWT
    trust_domain: str | None = None
    max_lifetime: int | None = None

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ConfigurationError("an actor issuer needs an issuer identifier")
        if self.token_type not in ACTOR_TOKEN_TYPES:
            raise ConfigurationError("actor tokens are jwt or access_token")
        if len(self.keys) == 0:
            raise ConfigurationError(f"actor issuer {self.issuer} has no usable keys")
        if self.trust_domain is not None:
            check_trust_domain(self.trust_domain)


class ActorTrust:
    """The configured actor issuers, found by (``iss``, ``actor_token_type``)."""

    def __init__(self, issuers: Iterable[ActorIssuer]) -> None:
        self._by_key: dict[tuple[str, str], ActorIssuer] = {}
        for item in issuers:
            key = (item.issuer, item.token_type)
            if key in self._by_key:
                raise ConfigurationError(f"actor issuer {item.issuer} configured twice")
            self._by_key[key] = item

    def find(self, issuer: object, token_type: str) -> ActorIssuer | None:
        """The issuer configured for exactly ``issuer`` and ``token_type``."""
        if not isinstance(issuer, str):
            return None
        return self._by_key.get((issuer, token_type))


@dataclass(frozen=True, slots=True)
class ValidatedActor:
    """An actor token that passed every check: the current actor and earlier ones."""

    subject: str
    issuer: str
    token_type: str
    spiffe_id: SpiffeId | None
    prior: Actor | None


def _actor_subject(sub: str, config: ActorIssuer) -> SpiffeId | None:
    if config.trust_domain is None:
        if looks_like_spiffe(sub):
            raise InvalidRequest(detail="SPIFFE ID from an issuer not bound to a trust domain")
        return None
    try:
        spiffe_id = SpiffeId.parse(sub)
    except InvalidSpiffeId as exc:
        raise InvalidRequest(detail=f"actor sub is not a SPIFFE ID: {exc}") from None
    if not spiffe_id.path:
        raise InvalidRequest(detail="actor sub names a trust domain, not a workload")
    if spiffe_id.trust_domain != config.trust_domain:
        raise InvalidRequest(detail="actor sub is outside the issuer's trust domain")
    return spiffe_id


def _prior_chain(act: Actor | None) -> Actor | None:
    """The verified earlier chain, reduced to ``sub`` and ``iss`` of each actor."""
    if act is None:
        return None
    for sub in act.chain():
        if looks_like_spiffe(sub):
            try:
                SpiffeId.parse(sub)
            except InvalidSpiffeId as exc:
                raise InvalidRequest(detail=f"nested actor is not a SPIFFE ID: {exc}") from None
    return Actor(sub=act.sub, iss=act.iss, act=_prior_chain(act.act))


def verify_actor_token(
    token: object,
    token_type: object,
    *,
    trust: ActorTrust,
    audience: str,
    client_id: str,
    now: float | None = None,
    leeway: int = DEFAULT_LEEWAY,
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> ValidatedActor:
    """Verify ``token`` as an actor token for the IdP ``audience`` and the client ``client_id``.

    The issuer is looked up by the token's ``iss`` and ``token_type`` before
    any key is used; the signature, ``typ``, ``aud`` (must contain
    ``audience``), ``exp``/``iat``/``nbf`` and maximum lifetime are then checked
    by :func:`xaa._tokens.verify_parsed`.
    """
    if not isinstance(token_type, str) or token_type not in ACTOR_TOKEN_TYPES:
        raise InvalidRequest(detail="unsupported actor_token_type")
    jws = parse_compact(token, error=InvalidRequest, max_bytes=max_bytes)
    config = trust.find(jws.payload.get("iss"), token_type)
    if config is None:
        raise InvalidRequest(detail="actor token issuer not trusted for this actor_token_type")
    profile: JwtProfile[Any] = (
        WORKLOAD_JWT if token_type == spec.TOKEN_TYPE_JWT else ACTOR_ACCESS_TOKEN
    )
    claims = verify_parsed(
        jws,
        profile,
        keys=config.keys,
        issuer=config.issuer,
        audience=audience,
        now=now,
        leeway=leeway,
        max_lifetime=config.max_lifetime,
        client_id=client_id if profile is ACTOR_ACCESS_TOKEN else None,
    ).claims
    prior: Actor | None = None
    if isinstance(claims, AccessTokenClaims):
        if claims.act is not None and len(claims.act.chain()) >= HARD_MAX_DEPTH:
            raise InvalidRequest(detail=f"actor chain longer than {HARD_MAX_DEPTH}")
        prior = _prior_chain(claims.act)
    elif "act" in (claims.model_extra or {}):
        raise InvalidRequest(detail="workload JWT carries act: nested chains are not trusted")
    return ValidatedActor(
        subject=claims.sub,
        issuer=claims.iss,
        token_type=token_type,
        spiffe_id=_actor_subject(claims.sub, config),
        prior=prior,
    )
