"""The broker for blocking code: :class:`SyncBroker` drives the same sans-I/O
:class:`xaa.broker.BrokerFlow` generators as the async :class:`~xaa.adapters.broker.Broker`
(as :class:`xaa.client.XAAClient` and its async twin share :class:`xaa.client.XaaFlow`).

Single flight: threads missing the cache for the same (person, app) queue on
one lock. Token calls never follow redirects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import httpx

from .._errors import HttpResponse
from ..broker._flow import BrokerConfig, BrokeredToken, RevocationReport
from ..broker._killswitch import TargetKind
from ..broker._strategy import Strategy
from ..client import Request, run_sync
from ._broker_http import DEFAULT_TIMEOUT, UNAVAILABLE, BrokerBase
from .httpx_client import send

__all__ = ["SyncBroker"]


class SyncBroker(BrokerBase[httpx.Client]):
    """:class:`~xaa.adapters.broker.Broker` for threads: the same flow, blocking I/O."""

    def __init__(self, config: BrokerConfig, *, http: httpx.Client | None = None) -> None:
        super().__init__(config, http=http)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def _new_http(cls) -> httpx.Client:
        return httpx.Client(follow_redirects=False, timeout=DEFAULT_TIMEOUT)

    def _send(self, request: Request) -> HttpResponse:
        return send(self._http, request)

    def _send_or_unavailable(self, request: Request) -> HttpResponse:
        try:
            return self._send(request)
        except httpx.HTTPError:
            return UNAVAILABLE

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
        flow = self._token_flow(subject, app, scopes, actor, actor_token, actor_token_type)
        if isinstance(flow, BrokeredToken):
            return flow
        with self._lock(subject, app):
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
        return run_sync(self._url_flow(subject, app, scopes, actor), self._send)

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
        return run_sync(self._revoke_flow(kind, value), self._send_or_unavailable)

    def forget_grant(self, person: str, app: str) -> bool:
        """``person`` disconnects ``app`` (deleted, and revoked at the app with RFC 7009)."""
        return run_sync(self.flow.forget_grant_flow(person, app), self._send_or_unavailable)

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def __enter__(self) -> SyncBroker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
