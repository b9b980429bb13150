"""Token lifecycle state: the user's IdP session and the token cache (draft §4.4.3).

Access tokens (and, where the AS allows re-presenting them, ID-JAGs) are
cached per ``(subject, AS issuer, resource, scope set)`` and treated as expired
``skew`` seconds early.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .. import spec
from .._errors import ConfigurationError, InvalidRequest, OAuthError
from .._jose import parse_compact
from ._requests import AccessToken, IdJag

DEFAULT_SKEW = 30.0


@dataclass
class IdentitySession:
    """The user's sign-in at the IdP: the subject token and the IdP refresh token.

    ``subject`` names the user in cache keys; by default the ``iss`` and
    ``sub`` of the ID token (read, not verified: the IdP verifies it).
    ``subject_token_type`` is ``id_token`` or ``saml2`` (draft §4.3, §4.5).
    """

    id_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    subject: str | None = None
    subject_token_type: str = spec.TOKEN_TYPE_ID_TOKEN

    def __post_init__(self) -> None:
        if self.subject is None:
            claims = self._claims()
            iss, sub = claims.get("iss"), claims.get("sub")
            if isinstance(iss, str) and isinstance(sub, str):
                self.subject = f"{iss} {sub}"
        if self.subject is None:
            raise ConfigurationError("an IdentitySession needs a subject or an ID token naming one")

    def _claims(self) -> dict[str, object]:
        if self.id_token is None or self.subject_token_type != spec.TOKEN_TYPE_ID_TOKEN:
            return {}
        try:
            return parse_compact(self.id_token, error=InvalidRequest).payload
        except OAuthError:
            return {}

    def current_subject_token(self, now: float, skew: float) -> str | None:
        """The subject token if it is not (about to be) expired; SAML is left to the IdP."""
        if self.id_token is None:
            return None
        if self.subject_token_type != spec.TOKEN_TYPE_ID_TOKEN:
            return self.id_token
        exp = self._claims().get("exp")
        if not isinstance(exp, int) or now + skew >= exp:
            return None
        return self.id_token


@dataclass(frozen=True, slots=True)
class CacheKey:
    """What an access token is cached under."""

    subject: str
    issuer: str
    resource: str
    scopes: frozenset[str]


class TokenCache:
    """Access tokens and re-presentable ID-JAGs by :class:`CacheKey`."""

    def __init__(self, skew: float = DEFAULT_SKEW) -> None:
        self.skew = skew
        self._access: dict[CacheKey, AccessToken] = {}
        self._id_jags: dict[CacheKey, IdJag] = {}
        self._lock = threading.Lock()  # writers only; readers see a whole dict

    def access_token(self, key: CacheKey, now: float) -> AccessToken | None:
        """A cached access token still valid at ``now`` plus skew."""
        token = self._access.get(key)
        return token if token is not None and token.valid(now, self.skew) else None

    def id_jag(self, key: CacheKey, now: float) -> IdJag | None:
        """A cached ID-JAG still valid at ``now`` plus skew."""
        jag = self._id_jags.get(key)
        return jag if jag is not None and jag.valid(now, self.skew) else None

    def store(self, key: CacheKey, token: AccessToken, jag: IdJag | None, now: float) -> None:
        """Keep ``token`` (and ``jag`` when it may be re-presented); drop expired entries."""
        with self._lock:
            access = {k: v for k, v in self._access.items() if v.valid(now, 0)}
            access[key] = token
            jags = {k: v for k, v in self._id_jags.items() if v.valid(now, 0)}
            if jag is not None:
                jags[key] = jag
            self._access, self._id_jags = access, jags

    def forget_id_jag(self, key: CacheKey) -> None:
        """The AS refused the cached ID-JAG: never present it again."""
        with self._lock:
            self._id_jags = {k: v for k, v in self._id_jags.items() if k != key}

    def discard(self, token: AccessToken) -> None:
        """Drop ``token`` wherever it is cached (the resource refused it)."""
        with self._lock:
            self._access = {k: v for k, v in self._access.items() if v is not token}
