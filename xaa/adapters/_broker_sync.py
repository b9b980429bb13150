"""The broker for blocking code: :class:`SyncBroker` drives the same sans-I/O
:class:`xaa.broker.BrokerFlow` generators as the async :class:`~xaa.adapters.broker.Broker`
(as :class:`xaa.client.XAAClient` and its async twin share :class:`xaa.client.XaaFlow`).

Single flight: threads missing the cache for the same (person, app) queue on
one lock. Token calls never follow redirects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from .._errors import HttpResponse
from ..broker._attribution import MintRecord
from ..broker._flow import BrokerConfig, BrokeredToken, BrokerFlow, RevocationReport, SessionSource
from ..broker._killswitch import RevocationTarget, TargetKind
from ..broker._strategy import AppConfig, Strategy
from ..broker._vault import CLIENT_SUBJECT, SecretKind, Slot, VaultEntry
from ..client import IdpConfig, Request, run_sync
from ._broker_http import DEFAULT_TIMEOUT, _scopes, sqlite_config
from ._vault import Keyring
from .httpx_client import send

__all__ = ["SyncBroker"]


class SyncBroker:
    """:class:`~xaa.adapters.broker.Broker` for threads: the same flow, blocking I/O."""

    def __init__(self, config: BrokerConfig, *, http: httpx.Client | None = None) -> None:
        self.flow = BrokerFlow(config)
        self._http = http or httpx.Client(follow_redirects=False, timeout=DEFAULT_TIMEOUT)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_sqlite(
        cls,
        path: str | Path,
        apps: Iterable[AppConfig],
        *,
        keyring: Keyring | None = None,
        idp: IdpConfig | None = None,
        sessions: SessionSource | None = None,
        http: httpx.Client | None = None,
    ) -> SyncBroker:
        """Vault, log and kill switch in one SQLite file (as ``Broker.from_sqlite``)."""
        return cls(
            sqlite_config(path, apps, keyring=keyring, idp=idp, sessions=sessions), http=http
        )

    @property
    def config(self) -> BrokerConfig:
        """The broker's configuration and hooks."""
        return self.flow.config

    def _send(self, request: Request) -> HttpResponse:
        return send(self._http, request)

    def _lock(self, person: str, app: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((person, app), threading.Lock())

    def access_token(
        self,
        subject: str,
        app: str,
        scopes: Iterable[str] | str | None = None,
        *,
        actor: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> BrokeredToken:
        """A short-lived token for ``actor`` acting for ``subject`` at ``app`` (see
        :meth:`Broker.access_token` for what it raises)."""
        wanted = _scopes(scopes)
        hit = self.flow.cached(subject, app, wanted, actor)
        if hit is not None:
            return hit
        with self._lock(subject, app):
            flow = self.flow.access_token_flow(
                subject,
                app,
                wanted,
                actor,
                actor_token=actor_token,
                actor_token_type=actor_token_type,
            )
            return run_sync(flow, self._send)

    def authorization_url(
        self,
        subject: str,
        app: str,
        scopes: Iterable[str] | str | None = None,
        *,
        actor: str | None = None,
    ) -> str:
        """Where to send ``subject``'s browser to grant ``app`` (PKCE S256, state, resource)."""
        flow = self.flow.authorization_url(subject, app, _scopes(scopes), actor)
        return run_sync(flow, self._send).url

    def complete_authorization(
        self,
        state: str | None,
        code: str | None,
        issuer: str | None = None,
        *,
        person: str | None = None,
    ) -> BrokeredToken:
        """The callback: ``state``, ``iss`` (RFC 9207), redeem ``code``, vault the grant."""
        return run_sync(self.flow.complete_flow(state, code, issuer, person=person), self._send)

    def strategy(self, app: str) -> Strategy:
        """How ``app``'s tokens are minted (configured, else discovered)."""
        return run_sync(self.flow.strategy_flow(app), self._send)

    def revoke(self, kind: TargetKind, value: str) -> RevocationReport:
        """The kill switch (local effects first, then RFC 7009 at each app)."""
        flow = self.flow.revoke_flow(RevocationTarget(kind, value))
        return run_sync(flow, self._send_or_unavailable)

    def _send_or_unavailable(self, request: Request) -> HttpResponse:
        try:
            return self._send(request)
        except httpx.HTTPError:
            return HttpResponse(503, {}, b"")

    def forget_grant(self, person: str, app: str) -> bool:
        """``person`` disconnects ``app`` (deleted, and revoked at the app with RFC 7009)."""
        return run_sync(self.flow.forget_grant_flow(person, app), self._send_or_unavailable)

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

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def __enter__(self) -> SyncBroker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
