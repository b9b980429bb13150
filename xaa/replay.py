"""Single-use identifiers: the :class:`ReplayStore` hook (RFC 7523 §3 item 7).

Keys are ``(namespace, iss, jti)``: the same ``jti`` from two issuers are two
tokens. ``claim`` is atomic: of concurrent callers with one key, exactly one
sees ``None`` (first use). A store that cannot answer raises
:class:`ReplayStoreUnavailable` and the server fails closed (503).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .errors import TemporarilyUnavailable, XaaError

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
        raise TemporarilyUnavailable(
            detail=f"replay store unavailable: {type(exc).__name__}"
        ) from None
