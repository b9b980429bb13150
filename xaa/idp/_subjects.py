"""Subject tokens of a token exchange, validated by their declared type (draft §4.3.3).

- ``id_token``: :class:`IdTokenSubjectValidator` (issued by this IdP, signature,
  not expired, ``aud``/``azp`` the authenticated client, really an ID token).
- ``refresh_token``: :class:`RefreshTokenSubjectValidator` over a deployer
  :class:`RefreshTokenStore`, through :func:`validate_refresh_token`, the one check the
  ``refresh_token`` grant uses too (issued to this client, unexpired, not revoked; a
  rotated token presented again revokes its family, RFC 9700 §4.14.2).
- ``saml2`` and others: any :class:`SubjectTokenValidator` registered for the type.

Every failure is ``invalid_request`` (RFC 8693 §2.2.2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .. import spec
from .._client_auth import AuthenticatedClient
from .._errors import InvalidRequest, OAuthError
from .._keys import JwkSet, SigningKey
from .._replay import never_blocks
from .._tokens import DEFAULT_MAX_ID_TOKEN_LIFETIME, verify_id_token
from ._policy import GrantLimits, Subject, SubjectProfile

__all__ = [
    "IdTokenSubjectValidator",
    "KeySource",
    "RefreshGrant",
    "RefreshTokenStore",
    "RefreshTokenSubjectValidator",
    "SubjectDirectory",
    "SubjectTokenValidator",
    "hash_refresh_token",
    "validate_refresh_token",
]


@runtime_checkable
class KeySource(Protocol):
    """The IdP's keys: one signs now, all published ones verify (a ``KeyRing`` fits)."""

    @property
    def current(self) -> SigningKey:
        """The key that signs now."""
        ...

    def verification_keys(self) -> JwkSet:
        """Every published key."""
        ...


@runtime_checkable
class SubjectTokenValidator(Protocol):
    """Validates one type of subject token (``saml2`` plugs in here)."""

    def validate_subject_token(
        self, token: str, *, client: AuthenticatedClient, now: float
    ) -> Subject:
        """The subject, or raise ``InvalidRequest``; the token must be bound to ``client``."""
        ...


@runtime_checkable
class SubjectDirectory(Protocol):
    """Current attributes of an End-User: email, groups, attributes (draft §4.3.3)."""

    def find_subject(self, sub: str) -> SubjectProfile | None:
        """The profile of ``sub``, or ``None`` when unknown or disabled (then: deny)."""
        ...


class IdTokenSubjectValidator:
    """An OIDC ID token this IdP issued to the authenticated client (draft §4.3.3)."""

    def __init__(
        self, issuer: str, keys: KeySource, *, max_lifetime: int = DEFAULT_MAX_ID_TOKEN_LIFETIME
    ) -> None:
        self.issuer = issuer
        self.keys = keys
        self.max_lifetime = max_lifetime

    @property
    def never_blocks(self) -> bool:
        """Whether its key source answers without blocking (:func:`xaa._replay.never_blocks`)."""
        return never_blocks(self.keys)

    def validate_subject_token(
        self, token: str, *, client: AuthenticatedClient, now: float
    ) -> Subject:
        claims = verify_id_token(
            token,
            keys=self.keys.verification_keys(),
            issuer=self.issuer,
            client_id=client.client_id,
            now=now,
            max_lifetime=self.max_lifetime,
        ).claims
        return Subject(
            sub=claims.sub,
            token_type=spec.TOKEN_TYPE_ID_TOKEN,
            auth_time=claims.auth_time,
            acr=claims.acr,
            amr=tuple(claims.amr or ()),
            profile=SubjectProfile(email=claims.email),
        )


def hash_refresh_token(token: str) -> str:
    """The stored form of an opaque refresh token (SHA-256, hex): never store the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RefreshGrant:
    """What a refresh token stands for (RFC 6749 §6).

    ``rotated``: the token was replaced by rotation (``revoked`` too); presenting it
    again is reuse (RFC 9700 §4.14.2).
    """

    client_id: str
    sub: str
    expires_at: float
    revoked: bool = False
    rotated: bool = False
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    limits: GrantLimits = field(default_factory=GrantLimits)


@runtime_checkable
class RefreshTokenStore(Protocol):
    """Looks up refresh tokens this IdP issued (store them hashed: :func:`hash_refresh_token`)."""

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        """The grant behind ``token``, revoked or not; ``None`` when unknown."""
        ...

    def revoke_refresh_family(self, token: str, now: float) -> None:
        """Revoke every token of ``token``'s rotation family (reuse was detected)."""
        ...


def validate_refresh_token(
    store: RefreshTokenStore,
    token: str,
    *,
    client_id: str,
    now: float,
    error: type[OAuthError] = InvalidRequest,
) -> RefreshGrant:
    """The one check of a presented refresh token: at the ``refresh_token`` grant
    (RFC 6749 §6, ``error=InvalidGrant``) and as a token-exchange subject (draft-03 §4.3.3:
    "the same way it would for a standard refresh_token grant").

    Issued by this IdP, to ``client_id``, not revoked, unexpired. A rotated token
    presented again revokes its whole family first (RFC 9700 §4.14.2), on either path.
    """
    grant = store.find_refresh_token(token)
    if grant is None:
        raise error(detail="refresh token unknown")
    if grant.client_id != client_id:
        raise error(detail="refresh token issued to another client")
    if grant.rotated:
        store.revoke_refresh_family(token, now)
        raise error(detail="rotated refresh token reused: family revoked")
    if grant.revoked:
        raise error(detail="refresh token revoked")
    if now >= grant.expires_at:
        raise error(detail="refresh token expired")
    return grant


class RefreshTokenSubjectValidator:
    """A refresh token as subject: :func:`validate_refresh_token`, as the ``refresh_token``
    grant checks it (draft-03 §4.3.3)."""

    def __init__(self, store: RefreshTokenStore) -> None:
        self.store = store

    @property
    def never_blocks(self) -> bool:
        """Whether its store answers without blocking (:func:`xaa._replay.never_blocks`)."""
        return never_blocks(self.store)

    def validate_subject_token(
        self, token: str, *, client: AuthenticatedClient, now: float
    ) -> Subject:
        grant = validate_refresh_token(self.store, token, client_id=client.client_id, now=now)
        return Subject(
            sub=grant.sub,
            token_type=spec.TOKEN_TYPE_REFRESH_TOKEN,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=grant.amr,
            limits=grant.limits,
        )
