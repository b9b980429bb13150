"""The trust registry: which IdPs this resource AS accepts ID-JAGs from, and their keys.

Per issuer: a static JWKS, an explicit ``jwks_uri``, or discovery (RFC 8414 §3
``/.well-known/oauth-authorization-server``, then OIDC Discovery §4
``/.well-known/openid-configuration``); the algorithms the issuer may sign
with are pinned. This module does no I/O: :meth:`TrustRegistry.refresh_flow`
is a generator that yields the URLs to fetch and receives each document (or
``None`` when the fetch failed); an adapter drives it
(:mod:`xaa.adapters._starlette_resource`), tests drive it with dicts.

Policy (RFC 8725 §3.10, docs/security.md "Metadata and keys"):
- keys are cached for ``ttl`` seconds, then refreshed when next needed;
- an unknown ``kid`` triggers at most one refresh per ``min_refresh_interval``;
- when the IdP is unreachable the last good keys are kept (stale) and used;
- one bad key does not take down the set; keys whose algorithm is not pinned
  for the issuer are dropped; metadata whose ``issuer`` differs is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import spec
from .._errors import ConfigurationError
from .._keys import JwkSet, UnusableKey

log = logging.getLogger("xaa.resource.trust")

DEFAULT_KEYS_TTL = 3600.0
DEFAULT_MIN_REFRESH_INTERVAL = 30.0

# What a refresh flow receives for each URL it yields: the JSON object, or None on failure.
FetchResult = Mapping[str, Any] | None
RefreshFlow = Generator[str, FetchResult, None]


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One IdP whose ID-JAGs are accepted.

    Exactly one key source: ``jwks`` (static), ``jwks_uri``, or neither
    (discover ``jwks_uri`` from the issuer's metadata).

    ``authoritative_email_domains``: domains whose addresses this IdP vouches
    for, so its ``email`` claim may link an account of another issuer or a
    local account (:mod:`xaa.resource._subjects`); empty by default: its e-mails
    link only to accounts of its own.
    """

    issuer: str
    algorithms: frozenset[str] = frozenset({spec.ALG_ES256})
    jwks: Mapping[str, Any] | None = field(default=None, repr=False)
    jwks_uri: str | None = None
    authoritative_email_domains: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.issuer:
            raise ConfigurationError("a trusted issuer needs an issuer identifier")
        if self.jwks is not None and self.jwks_uri is not None:
            raise ConfigurationError("give a static JWKS or a jwks_uri, not both")
        if not self.algorithms or not self.algorithms <= spec.SUPPORTED_ALGS:
            raise ConfigurationError("pinned algorithms must be supported asymmetric algorithms")
        for domain in self.authoritative_email_domains:
            if not domain or "@" in domain or domain != domain.lower().strip():
                raise ConfigurationError("authoritative e-mail domains are lowercase domain names")

    def metadata_urls(self) -> list[str]:
        """Discovery URLs, OAuth first (RFC 8414 §3.1 path insertion), then OIDC."""
        scheme, _, rest = self.issuer.partition("://")
        host, slash, path = rest.partition("/")
        suffix = f"/{path}".rstrip("/") if slash else ""
        oauth = f"{scheme}://{host}{spec.WELL_KNOWN_OAUTH_AS}{suffix}"
        oidc = f"{self.issuer.rstrip('/')}{spec.WELL_KNOWN_OPENID}"
        return [oauth] if oauth == oidc else [oauth, oidc]


@dataclass(slots=True)
class _IssuerState:
    config: TrustedIssuer
    keys: JwkSet = field(default_factory=JwkSet)
    jwks_uri: str | None = None
    fetched_at: float | None = None  # last successful JWKS fetch
    attempted_at: float | None = None  # last refresh attempt, successful or not


class TrustRegistry:
    """Trusted IdPs and their cached keys (sans-I/O)."""

    def __init__(
        self,
        issuers: Iterable[TrustedIssuer],
        *,
        ttl: float = DEFAULT_KEYS_TTL,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL,
    ) -> None:
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self._states: dict[str, _IssuerState] = {}
        for config in issuers:
            self.add(config)

    def add(self, config: TrustedIssuer) -> None:
        """Trust ``config.issuer`` (replacing an earlier entry for it)."""
        state = _IssuerState(config, jwks_uri=config.jwks_uri)
        if config.jwks is not None:
            state.keys = _import(config, config.jwks)
        self._states[config.issuer] = state

    def is_trusted(self, issuer: object) -> bool:
        """True only for an issuer configured exactly (no normalisation, no prefix match)."""
        return isinstance(issuer, str) and issuer in self._states

    @property
    def issuers(self) -> list[str]:
        """The trusted issuer identifiers (never published in metadata)."""
        return list(self._states)

    def email_authorities(self, email: str | None) -> frozenset[str]:
        """The trusted issuers authoritative for ``email``'s domain (exact, case-insensitive)."""
        if not email or "@" not in email:
            return frozenset()
        domain = email.rpartition("@")[2].lower()
        return frozenset(
            issuer
            for issuer, state in self._states.items()
            if domain in state.config.authoritative_email_domains
        )

    def keys(self, issuer: str) -> JwkSet:
        """The keys to verify ``issuer``'s tokens with now (possibly stale; maybe empty)."""
        state = self._states.get(issuer)
        return state.keys if state is not None else JwkSet()

    def needs_refresh(self, issuer: str, kid: str | None, now: float) -> bool:
        """Whether to fetch ``issuer``'s keys before verifying a token with ``kid``."""
        state = self._states.get(issuer)
        if state is None or state.config.jwks is not None:
            return False
        if state.attempted_at is not None and now - state.attempted_at < self.min_refresh_interval:
            return False  # rate limit: at most one refresh per interval, whatever the reason
        if state.fetched_at is None or now - state.fetched_at >= self.ttl:
            return True
        return state.keys.select(kid) is None

    def refresh_flow(self, issuer: str, now: float) -> RefreshFlow:
        """Yield URLs to fetch (metadata if needed, then the JWKS); receive their JSON.

        Marks the attempt first, so concurrent callers do not refresh again.
        On any failure the previous keys stay in place.
        """
        state = self._states[issuer]
        state.attempted_at = now
        jwks_uri = state.jwks_uri
        if jwks_uri is None:
            for url in state.config.metadata_urls():
                document = yield url
                if document is None:
                    continue
                if document.get(spec.M_ISSUER) != issuer:
                    log.warning("metadata of %s names another issuer: refused", issuer)
                    return
                found = document.get(spec.M_JWKS_URI)
                jwks_uri = found if isinstance(found, str) and found else None
                break
            if jwks_uri is None:
                log.warning("no usable metadata for %s: keeping cached keys", issuer)
                return
            state.jwks_uri = jwks_uri
        jwks = yield jwks_uri
        if jwks is None:
            log.warning("JWKS of %s unreachable: keeping cached keys", issuer)
            return
        try:
            keys = _import(state.config, jwks)
        except UnusableKey as exc:
            log.warning("JWKS of %s unusable (%s): keeping cached keys", issuer, exc)
            return
        state.keys, state.fetched_at = keys, now


def _import(config: TrustedIssuer, jwks: Mapping[str, Any]) -> JwkSet:
    """Import a JWKS keeping only keys pinned to one of the issuer's algorithms."""
    only = next(iter(config.algorithms)) if len(config.algorithms) == 1 else None
    imported = JwkSet.from_jwks(jwks, only)
    return JwkSet(key for key in imported if key.alg in config.algorithms)


def drive(flow: RefreshFlow, fetch: Callable[[str], FetchResult]) -> None:
    """Run a refresh flow with a synchronous ``fetch(url) -> Mapping | None`` (tests, CLIs)."""
    try:
        url = next(flow)
        while True:
            url = flow.send(fetch(url))
    except StopIteration:
        return
