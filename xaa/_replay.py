"""Single-use identifiers: the :class:`ReplayStore` hook (RFC 7523 §3 item 7).

Keys are ``(namespace, iss, jti)``: the same ``jti`` from two issuers are two
tokens. ``claim`` is atomic: of concurrent callers with one key, exactly one
sees ``None`` (first use). A store that cannot answer raises
:class:`ReplayStoreUnavailable` and the server fails closed (503).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from ._errors import OAuthError, TemporarilyUnavailable, XaaError

T = TypeVar("T")

NS_ID_JAG = "id-jag"
NS_CLIENT_ASSERTION = "client-assertion"
NS_DPOP = "dpop"
NS_SAML = "saml"


class ReplayStoreUnavailable(XaaError):
    """The replay store could not answer; the caller must reject the request."""


@runtime_checkable
class ReplayStore(Protocol):
    """Atomic first-use registry of ``(namespace, iss, jti)`` with expiry."""

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        """Record the key until ``expires_at``.

        Returns ``None`` when this call recorded it (first use), otherwise the
        ``holder`` recorded by the first use. Raises
        :class:`ReplayStoreUnavailable` when the store cannot answer.
        """
        ...


def claim_once(
    store: ReplayStore,
    namespace: str,
    issuer: str,
    jti: str,
    *,
    holder: str,
    expires_at: float,
    now: float,
) -> str | None:
    """``store.claim`` with unavailability mapped to 503 ``temporarily_unavailable``."""
    try:
        return store.claim(namespace, issuer, jti, holder=holder, expires_at=expires_at, now=now)
    except ReplayStoreUnavailable as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: ReplayStoreUnavailable) -> TemporarilyUnavailable:
    """The fail-closed answer when the store cannot answer: 503, the cause's class only."""
    return TemporarilyUnavailable(detail=f"replay store unavailable: {type(exc).__name__}")


# -- store calls as data (the async adapters perform them; docs/benchmarks.md) -----------------


@runtime_checkable
class AsyncReplayStore(Protocol):
    """A replay store with an awaitable claim, for async servers (same contract as
    :meth:`ReplayStore.claim`). The async adapters await it on the event loop."""

    async def claim_async(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        """:meth:`ReplayStore.claim`, awaitable."""
        ...


@dataclass(frozen=True, slots=True)
class ReplayClaim:
    """One replay claim a sans-I/O flow needs made: the core states it, the caller performs
    it (inline, in a worker thread, or awaited on an :class:`AsyncReplayStore`) and sends
    the result (``None`` on first use, else the first holder) back into the flow."""

    store: ReplayStore
    namespace: str
    issuer: str
    jti: str
    holder: str
    expires_at: float
    now: float

    def perform(self) -> str | None:
        """The claim through the store's blocking ``claim`` (unavailable -> 503)."""
        try:
            return self._send(self.store.claim)
        except ReplayStoreUnavailable as exc:
            raise _unavailable(exc) from None

    async def perform_async(self, store: AsyncReplayStore) -> str | None:
        """The claim through ``store.claim_async`` (unavailable -> 503)."""
        try:
            return await self._send(store.claim_async)
        except ReplayStoreUnavailable as exc:
            raise _unavailable(exc) from None

    def _send(self, claim: Callable[..., T]) -> T:
        """``claim`` (a store's ``claim`` or ``claim_async``) called with this key and expiry."""
        return claim(
            self.namespace,
            self.issuer,
            self.jti,
            holder=self.holder,
            expires_at=self.expires_at,
            now=self.now,
        )


ClaimFlow = Generator[ReplayClaim, "str | None", T]
"""A flow that yields the replay claims it needs and returns ``T``."""


def run_claims(flow: ClaimFlow[T]) -> T:
    """Drive ``flow`` with blocking claims (the sync path); a claim's ``OAuthError`` (503)
    is raised into the flow, where it is handled like any other refusal."""
    try:
        call = next(flow)
        while True:
            try:
                result = call.perform()
            except OAuthError as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


def never_blocks(*stores: object) -> bool:
    """Whether every one of ``stores`` answers without blocking (in memory): such stores
    declare ``never_blocks = True``, and async servers call them on the event loop.
    Anything else is assumed to block (SQLite, Redis, a vault) and runs in a worker thread."""
    return all(getattr(store, "never_blocks", False) is True for store in stores)
