"""Which way the broker gets a token for an app: XAA, or plain OAuth where it must.

Discovery (RFC 8414 metadata of the app's AS): an AS advertising the id-jag
grant profile with the jwt-bearer grant (draft §7.2) gets XAA. Otherwise the
authorization code grant with PKCE when the AS has an authorization endpoint and
the app has a redirect URI, else client credentials when listed. A configured
strategy overrides discovery; configured XAA at an AS without the profile is
refused (never a silent downgrade).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .. import rules, spec
from .._errors import ConfigurationError, ProtocolViolation
from .._keys import SigningKey
from .._models import AuthorizationServerMetadata
from ..client import ClientCredentials

DEFAULT_GRANT_TYPES = (spec.GRANT_AUTHORIZATION_CODE, "implicit")  # RFC 8414 §2 default


class Strategy(StrEnum):
    """How a token is minted."""

    XAA = "xaa"
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"


@dataclass(frozen=True, slots=True)
class AppConfig:
    """An app the broker mints tokens for.

    ``issuer``: the app's AS; ``resource``: its API (RFC 8707); ``client_id``:
    the broker's client at that AS (its secret lives in the vault, or ``key``
    for ``private_key_jwt``); ``strategy``: ``None`` to discover.
    """

    name: str
    issuer: str
    resource: str
    client_id: str
    auth_method: str = spec.AUTH_CLIENT_SECRET_BASIC
    strategy: Strategy | None = None
    redirect_uri: str | None = None
    key: SigningKey | None = field(default=None, repr=False)

    def credentials(self, secret: str | None) -> ClientCredentials:
        """The broker's client authentication at this app's AS."""
        if self.auth_method == spec.AUTH_PRIVATE_KEY_JWT:
            if self.key is None:
                raise ConfigurationError(f"{self.name}: private_key_jwt needs a key")
            return ClientCredentials.private_key_jwt(self.client_id, self.key)
        if not secret:
            raise ConfigurationError(f"{self.name}: no client secret in the vault")
        return ClientCredentials(self.client_id, self.auth_method, secret=secret)


def choose_strategy(app: AppConfig, metadata: AuthorizationServerMetadata) -> Strategy:
    """The strategy for ``app`` given its AS metadata (configuration first, then discovery)."""
    grants = metadata.grant_types_supported or list(DEFAULT_GRANT_TYPES)
    if app.strategy == Strategy.XAA and not metadata.accepts_id_jag:
        raise ProtocolViolation(
            rules.AS_ID_JAG_PROFILE, "the app is configured for XAA but lacks it"
        )
    if app.strategy is not None:
        return app.strategy
    if metadata.accepts_id_jag and spec.GRANT_JWT_BEARER in grants:
        return Strategy.XAA
    if (
        spec.GRANT_AUTHORIZATION_CODE in grants
        and metadata.authorization_endpoint
        and app.redirect_uri
    ):
        return Strategy.AUTHORIZATION_CODE
    if spec.GRANT_CLIENT_CREDENTIALS in grants:
        return Strategy.CLIENT_CREDENTIALS
    raise ProtocolViolation(rules.NO_STRATEGY, "the app's AS offers no grant the broker can use")
