"""The credential broker, sans-I/O: XAA where the app supports it, plain OAuth where not.

Drivers: :class:`xaa.adapters.broker.Broker` (HTTP), the vault
:class:`xaa.adapters.broker.SecretVault` (AES-GCM, SQLite or Redis), the callback
route :func:`xaa.adapters.starlette_broker.callback_route`.
"""

from ._attribution import AttributionLog, MemoryAttributionLog, MintRecord, token_fingerprint
from ._errors import (
    AuthorizationRequired,
    BlockedByPolicy,
    BrokerError,
    Revoked,
    ScopeExceedsGrant,
    SignInRejected,
    UnknownApp,
    VaultIntegrityError,
)
from ._flow import (
    BrokerCacheKey,
    BrokerConfig,
    BrokeredToken,
    BrokerFlow,
    MemorySessions,
    RevocationReport,
    SessionSource,
    SessionStore,
)
from ._killswitch import MemoryRevocationList, RevocationList, RevocationTarget, covering
from ._oauth import (
    IssuedTokens,
    PendingAuthorization,
    PendingAuthorizations,
    PendingStore,
    authorization_request,
    client_credentials_request,
    code_exchange_request,
    downscope,
    process_grant_response,
    refresh_request,
    revocation_request,
    revocation_succeeded,
)
from ._strategy import AppConfig, Strategy, choose_strategy
from ._vault import CLIENT_SUBJECT, SecretKind, Slot, Vault, VaultEntry

__all__ = [
    "CLIENT_SUBJECT",
    "AppConfig",
    "AttributionLog",
    "AuthorizationRequired",
    "BlockedByPolicy",
    "BrokerCacheKey",
    "BrokerConfig",
    "BrokerError",
    "BrokerFlow",
    "BrokeredToken",
    "IssuedTokens",
    "MemoryAttributionLog",
    "MemoryRevocationList",
    "MemorySessions",
    "MintRecord",
    "PendingAuthorization",
    "PendingAuthorizations",
    "PendingStore",
    "RevocationList",
    "RevocationReport",
    "RevocationTarget",
    "Revoked",
    "ScopeExceedsGrant",
    "SecretKind",
    "SessionSource",
    "SessionStore",
    "SignInRejected",
    "Slot",
    "Strategy",
    "UnknownApp",
    "Vault",
    "VaultEntry",
    "VaultIntegrityError",
    "authorization_request",
    "choose_strategy",
    "client_credentials_request",
    "code_exchange_request",
    "covering",
    "downscope",
    "process_grant_response",
    "refresh_request",
    "revocation_request",
    "revocation_succeeded",
    "token_fingerprint",
]
