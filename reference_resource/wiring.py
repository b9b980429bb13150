"""Who the chat AS knows: clients, grants, trusted IdPs and resources, from its settings.

The demo world (:mod:`reference_resource.settings`) or a configuration file
(:mod:`reference_resource.config`, docs/resource-config.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from xaa import RegisteredClient, spec
from xaa.resource import (
    AccountResolver,
    AccountStore,
    ClientGrant,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
)

from .settings import Settings

# The demo: wiki-at-chat authenticates with client_secret_basic, agent-at-chat with _post.
DEMO_METHODS = (spec.AUTH_CLIENT_SECRET_BASIC, spec.AUTH_CLIENT_SECRET_POST)


def registered_clients(settings: Settings) -> list[RegisteredClient]:
    """The chat AS's confidential clients."""
    if settings.registered_clients is not None:
        return list(settings.registered_clients)
    return [
        RegisteredClient.with_secret(cid, secret, DEMO_METHODS[i % 2])
        for i, (cid, secret) in enumerate(settings.clients)
    ]


def auth_methods(settings: Settings) -> tuple[str, ...]:
    """The methods listed in the AS metadata (RFC 8414 §2)."""
    if settings.registered_clients is None:
        return DEMO_METHODS
    used = {m for c in settings.registered_clients for m in c.methods}
    return tuple(m for m in spec.CONFIDENTIAL_AUTH_METHODS if m in used)


def grant_policy(settings: Settings, grant_types: Iterable[str]) -> StaticGrantPolicy:
    """Which client may use which grant, for which scopes (every client: ``grant_types``)."""
    if settings.client_grants is not None:
        return StaticGrantPolicy(settings.client_grants)
    chosen = frozenset(grant_types)
    return StaticGrantPolicy([ClientGrant(cid, grant_types=chosen) for cid, _ in settings.clients])


def code_flow_clients(settings: Settings) -> frozenset[str]:
    """The clients that may use the authorization code flow."""
    if settings.client_grants is None:
        return frozenset(cid for cid, _ in settings.clients)
    return frozenset(
        g.client_id
        for g in settings.client_grants
        if spec.GRANT_AUTHORIZATION_CODE in g.grant_types
    )


def trust_registry(settings: Settings) -> TrustRegistry:
    """The trusted IdPs (keys by discovery unless configured)."""
    issuers = settings.trusted
    if issuers is None:
        issuers = tuple(
            TrustedIssuer(
                url,
                authoritative_email_domains=frozenset(
                    d.lower() for i, d in settings.idp_email_domains if i == url
                ),
            )
            for url in dict.fromkeys(settings.trusted_idps)
        )
    return TrustRegistry(
        issuers, ttl=settings.idp_keys_ttl, min_refresh_interval=settings.idp_min_refresh_interval
    )


def served_resources(settings: Settings) -> list[ServedResource]:
    """The chat API, and the MCP server when it is served."""
    api = frozenset(settings.api_scopes)
    served = [ServedResource(settings.resource, api, settings.dpop_required)]
    if settings.mcp_scopes and not settings.legacy:
        served.append(
            ServedResource(
                settings.mcp_resource, frozenset(settings.mcp_scopes), settings.mcp_dpop_required
            )
        )
    return served


def account_resolver(settings: Settings, store: AccountStore) -> AccountResolver:
    """Subjects to accounts (docs/resource.md "Subjects")."""
    return AccountResolver(store, settings.accounts)
