"""What the broker raises to its caller (never rendered to a peer, never holding a token).

- :class:`AuthorizationRequired`: no grant exists yet for (person, app); send the
  person to ``authorization_url`` (plain OAuth) or to sign in at the IdP (XAA).
- :class:`BlockedByPolicy`: the IdP (or the app's AS) refused by policy; the
  broker NEVER falls back to plain OAuth after this (docs/broker.md).
- :class:`Revoked`: the kill switch covers this person, agent or app; fail closed.
- :class:`ScopeExceedsGrant`: more scopes asked than the stored grant holds.
- :class:`VaultIntegrityError`: a vaulted ciphertext fails authentication
  (tampered, swapped between slots, or its key is gone); never a silent miss.
"""

from __future__ import annotations

from .._errors import XaaError


class BrokerError(XaaError):
    """Base of the broker's errors."""


class AuthorizationRequired(BrokerError):
    """The person must authorize first at ``authorization_url`` (None: sign in at the IdP)."""

    def __init__(self, app: str, strategy: str, authorization_url: str | None, reason: str) -> None:
        self.app = app
        self.strategy = strategy
        self.authorization_url = authorization_url
        self.reason = reason
        super().__init__(f"authorization required for {app} ({strategy}): {reason}")


class BlockedByPolicy(BrokerError):
    """A policy denial (``error`` keeps its RFC 6749 code, ``reason`` the server's words)."""

    def __init__(
        self, app: str, error: str, reason: str, where: str, issuer: str | None = None
    ) -> None:
        self.app = app
        self.error = error
        self.reason = reason
        self.where = where  # "IdP" or "authorization server"
        self.issuer = issuer  # which one, when known
        server = f"{where} {issuer}" if issuer else where
        super().__init__(f"{server} blocked access to {app} by policy: {error}: {reason}")

    def to_json(self) -> dict[str, str]:
        """A structured form for agents and logs."""
        found = {
            "blocked_by_policy": self.app,
            "error": self.error,
            "reason": self.reason,
            "where": self.where,
        }
        return found | ({"issuer": self.issuer} if self.issuer else {})


class Revoked(BrokerError):
    """The kill switch covers this request (``target`` names what was revoked)."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(f"revoked: {target}")


class ScopeExceedsGrant(BrokerError):
    """Requested scopes are not all within the stored grant (never more than the grant)."""

    def __init__(self, app: str, missing: frozenset[str]) -> None:
        self.app = app
        self.missing = missing
        super().__init__(f"{app}: scopes beyond the grant: {' '.join(sorted(missing))}")


class UnknownApp(BrokerError):
    """No app of that name is configured."""


class VaultIntegrityError(BrokerError):
    """A vault ciphertext did not authenticate: tampered, swapped, or its key is missing."""


class SignInRejected(BrokerError):
    """A sign-in callback refused (state, ``iss``, code, ID token or nonce did not check out).

    ``message`` is a short fixed sentence for the person's page; never a token or a secret.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
