"""The broker over HTTP (httpx): drives :class:`xaa.broker.BrokerFlow`.

``await broker.access_token(person, app, scopes, actor=agent)`` returns a
:class:`~xaa.broker.BrokeredToken`. Single flight: callers missing the cache for
the same (person, app) queue on one lock, so concurrent callers share one
exchange or refresh; cache hits never take the lock. Token calls never follow
redirects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import anyio
import httpx

from .._errors import HttpResponse, InvalidRequest
from .._forms import parse_scope
from ..broker._attribution import MintRecord
from ..broker._flow import (
    BrokerConfig,
    BrokeredToken,
    BrokerFlow,
    Flow,
    MemorySessions,
    RevocationReport,
    SessionSource,
)
from ..broker._killswitch import RevocationTarget, TargetKind
from ..broker._strategy import AppConfig, Strategy
from ..broker._vault import CLIENT_SUBJECT, SecretKind, Slot, VaultEntry
from ..client import IdpConfig, Request, run_async
from ._broker_sqlite import SqliteAttributionLog, SqliteRevocationList
from ._vault import Keyring, SecretVault, SqliteVaultBackend
from .httpx_client import send_async

DEFAULT_TIMEOUT = 10.0
UNAVAILABLE = HttpResponse(503, {}, b"")  # what an unreachable app answers the kill switch
H = TypeVar("H")


def sqlite_config(
    path: str | Path,
    apps: Iterable[AppConfig],
    *,
    keyring: Keyring | None = None,
    idp: IdpConfig | None = None,
    sessions: SessionSource | None = None,
) -> BrokerConfig:
    """Vault, attribution log and kill switch in the SQLite file ``path``."""
    return BrokerConfig(
        apps={app.name: app for app in apps},
        vault=SecretVault(keyring or Keyring.from_environment(), SqliteVaultBackend(path)),
        revocations=SqliteRevocationList(path),
        log=SqliteAttributionLog(path),
        idp=idp,
        sessions=sessions or MemorySessions(),
    )


def _scopes(scopes: Iterable[str] | str | None) -> frozenset[str]:
    return parse_scope(scopes) if isinstance(scopes, str) else frozenset(scopes or ())


class BrokerBase(Generic[H]):
    """What :class:`Broker` and :class:`~xaa.adapters.broker.SyncBroker` share: the flow, the
    operations without I/O and the flows to drive; each driver only sends (async or blocking)."""

    def __init__(self, config: BrokerConfig, *, http: H | None = None) -> None:
        self.flow = BrokerFlow(config)
        self._http: H = http if http is not None else self._new_http()

    @classmethod
    def _new_http(cls) -> H:
        raise NotImplementedError

    @classmethod
    def from_sqlite(
        cls,
        path: str | Path,
        apps: Iterable[AppConfig],
        *,
        keyring: Keyring | None = None,
        idp: IdpConfig | None = None,
        sessions: SessionSource | None = None,
        http: H | None = None,
    ) -> Self:
        """Vault, log and kill switch in one SQLite file; keys from the environment by default."""
        return cls(
            sqlite_config(path, apps, keyring=keyring, idp=idp, sessions=sessions), http=http
        )

    @property
    def config(self) -> BrokerConfig:
        """The broker's configuration and hooks."""
        return self.flow.config

    def _token_flow(
        self,
        subject: str,
        app: str,
        scopes: Iterable[str] | str | None,
        actor: str | None,
        actor_token: str | None,
        actor_token_type: str | None,
    ) -> BrokeredToken | Flow[BrokeredToken]:
        """The cached token (no I/O, no lock), else the flow to drive under the (person, app)
        lock: single flight, the flow looks at the cache again once it holds the lock."""
        wanted = _scopes(scopes)
        hit = self.flow.cached(subject, app, wanted, actor)
        if hit is not None:
            return hit
        return self.flow.access_token_flow(
            subject, app, wanted, actor, actor_token=actor_token, actor_token_type=actor_token_type
        )

    def _url_flow(
        self, subject: str, app: str, scopes: Iterable[str] | str | None, actor: str | None
    ) -> Flow[str]:
        pending = yield from self.flow.authorization_url(subject, app, _scopes(scopes), actor)
        return pending.url

    def _revoke_flow(self, kind: TargetKind, value: str) -> Flow[RevocationReport]:
        return self.flow.revoke_flow(RevocationTarget(kind, value))

    def decline_authorization(self, state: str | None) -> bool:
        """The app's callback carried ``error`` (RFC 6749 §4.1.2.1: the person refused):
        forget the pending request ``state`` names; False when none was (unknown, expired)."""
        try:
            self.flow.pending.take(state, self.config.clock())
        except InvalidRequest:
            return False
        return True

    def withdraw_agent(self, person: str, agent: str) -> None:
        """``person`` withdraws ``agent``: their pending authorizations for it and this
        process's cached tokens go (vaulted grants stay: they are the person's, not the agent's).
        """
        self.flow.pending.drop(person, agent, None)
        self.flow.drop_cached(person, agent=agent)

    def lift(self, kind: TargetKind, value: str) -> bool:
        """Lift a revocation (new grants are needed: the vault slots are gone)."""
        return self.flow.lift(RevocationTarget(kind, value))

    def set_client_secret(self, app: str, secret: str) -> None:
        """Vault the broker's client secret at ``app``'s AS."""
        self.flow.app(app)
        self.config.vault.put(
            Slot(SecretKind.CLIENT_SECRET, CLIENT_SUBJECT, app), VaultEntry(secret)
        )

    def log(self) -> list[MintRecord]:
        """The attribution log, oldest first."""
        return self.config.log.records()


class Broker(BrokerBase[httpx.AsyncClient]):
    """Short-lived, scoped, attributed tokens: XAA where the app has it, plain OAuth where not."""

    def __init__(self, config: BrokerConfig, *, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, http=http)
        self._locks: dict[tuple[str, str], anyio.Lock] = {}

    @classmethod
    def _new_http(cls) -> httpx.AsyncClient:
        return httpx.AsyncClient(follow_redirects=False, timeout=DEFAULT_TIMEOUT)

    async def _send(self, request: Request) -> HttpResponse:
        return await send_async(self._http, request)

    async def _send_or_unavailable(self, request: Request) -> HttpResponse:
        """For the kill switch: an unreachable app counts as not revoked; the rest goes on."""
        try:
            return await self._send(request)
        except httpx.HTTPError:
            return UNAVAILABLE

    def _lock(self, person: str, app: str) -> anyio.Lock:
        return self._locks.setdefault((person, app), anyio.Lock())

    async def access_token(
        self,
        subject: str,
        app: str,
        scopes: Iterable[str] | str | None = None,
        *,
        actor: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> BrokeredToken:
        """A short-lived token for ``actor`` (the agent) acting for ``subject`` at ``app``.

        Raises ``AuthorizationRequired`` (with the URL), ``BlockedByPolicy``, ``Revoked``,
        ``ScopeExceedsGrant`` or ``VaultIntegrityError``.
        """
        flow = self._token_flow(subject, app, scopes, actor, actor_token, actor_token_type)
        if isinstance(flow, BrokeredToken):
            return flow
        async with self._lock(subject, app):
            return await run_async(flow, self._send)

    async def authorization_url(
        self,
        subject: str,
        app: str,
        scopes: Iterable[str] | str | None = None,
        *,
        actor: str | None = None,
    ) -> str:
        """Where to send ``subject``'s browser to grant ``app`` (PKCE S256, state, resource)."""
        return await run_async(self._url_flow(subject, app, scopes, actor), self._send)

    async def complete_authorization(
        self,
        state: str | None,
        code: str | None,
        issuer: str | None = None,
        *,
        person: str | None = None,
    ) -> BrokeredToken:
        """The callback: validate ``state`` (and ``iss``, RFC 9207), redeem ``code``, vault
        the refresh token. ``person``: the signed-in person, who must own the request."""
        flow = self.flow.complete_flow(state, code, issuer, person=person)
        return await run_async(flow, self._send)

    async def strategy(self, app: str) -> Strategy:
        """How ``app``'s tokens are minted (configured, else discovered)."""
        return await run_async(self.flow.strategy_flow(app), self._send)

    async def revoke(self, kind: TargetKind, value: str) -> RevocationReport:
        """The kill switch for a ``person``, an ``agent`` or an ``app``.

        Local effects come first (revocation list, vault slots, cache, pending
        requests); then RFC 7009 at each app that advertises it.
        """
        return await run_async(self._revoke_flow(kind, value), self._send_or_unavailable)

    async def forget_grant(self, person: str, app: str) -> bool:
        """``person`` disconnects ``app``: the vaulted grant is deleted and revoked at the app
        (RFC 7009) where it can be; True when the app confirmed."""
        flow = self.flow.forget_grant_flow(person, app)
        return await run_async(flow, self._send_or_unavailable)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def __aenter__(self) -> Broker:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def app_configs(apps: Iterable[Mapping[str, Any]]) -> list[AppConfig]:
    """App configurations from TOML-like tables (``name issuer resource client_id ...``)."""
    out = []
    for app in apps:
        values = dict(app)
        if values.get("strategy") is not None:
            values["strategy"] = Strategy(values["strategy"])
        out.append(AppConfig(**values))
    return out
