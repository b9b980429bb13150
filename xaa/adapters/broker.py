"""The broker's drivers and state: :class:`Broker` (async, httpx), :class:`SyncBroker`,
the vault and the stores a multi-process broker shares.

- :class:`Broker` / :class:`SyncBroker` drive :class:`xaa.broker.BrokerFlow` over HTTP (one
  flow, two drivers); what they share without I/O is :class:`BrokerBase`;
  :func:`sqlite_config` and :func:`app_configs` build their settings.
- The vault: :class:`SecretVault` with a :class:`Keyring` (AES-256-GCM, versioned key ids),
  records in SQLite (:class:`SqliteVaultBackend`, :func:`sqlite_vault`) or Redis
  (:class:`RedisVaultBackend`).
- Shared state (SQLite or Redis): attribution log, revocation list, sealed pending
  authorizations, IdP sessions kept in the vault, a key-value store (:func:`kv_for`).

Needs the ``client`` and ``broker`` extras: ``pip install 'xaa[client,broker]'``.
"""

from ._extras import missing_extra

try:
    from ._broker_http import Broker, BrokerBase, app_configs, sqlite_config
    from ._broker_shared import (
        IDP_APP,
        KeyValue,
        RedisAttributionLog,
        RedisKeyValue,
        RedisRevocationList,
        SealedPendingAuthorizations,
        SqliteKeyValue,
        VaultSessions,
        kv_for,
        seal,
        unseal,
    )
    from ._broker_sqlite import SqliteAttributionLog, SqliteRevocationList
    from ._broker_sync import SyncBroker
    from ._vault import (
        Keyring,
        RedisVaultBackend,
        SecretVault,
        SqliteVaultBackend,
        VaultBackend,
        sqlite_vault,
    )
except ModuleNotFoundError as exc:
    raise missing_extra(__name__, "client,broker", exc) from None

__all__ = [
    "IDP_APP",
    "Broker",
    "BrokerBase",
    "KeyValue",
    "Keyring",
    "RedisAttributionLog",
    "RedisKeyValue",
    "RedisRevocationList",
    "RedisVaultBackend",
    "SealedPendingAuthorizations",
    "SecretVault",
    "SqliteAttributionLog",
    "SqliteKeyValue",
    "SqliteRevocationList",
    "SqliteVaultBackend",
    "SyncBroker",
    "VaultBackend",
    "VaultSessions",
    "app_configs",
    "kv_for",
    "seal",
    "sqlite_config",
    "sqlite_vault",
    "unseal",
]
