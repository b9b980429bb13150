"""DPoP at every server hop (RFC 9449): one seam and one configured verifier for the IdP,
the AS and the RS.

:class:`DpopProofVerifier` is the one seam: the IdP's token endpoint (draft §8.6.1.1),
the resource AS's (draft §8.6.1.2) and the resource server (``access_token`` given,
RFC 9449 §7.1) all call ``verify``. :class:`DpopVerifier` is the ready implementation.
Every proof goes through the checks of :func:`xaa.dpop.verify_proof`: ``jti`` replay in
the deployment's :class:`~xaa.ReplayStore` (memory, SQLite or Redis),
optional server nonces (:class:`~xaa.dpop.HmacNonceSource`).

Callers pass their **configured** URL as ``url`` (the token endpoint, or the
resource origin plus the request path), never one rebuilt from ``Host``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._dpop import (
    DEFAULT_DPOP_ALGS,
    DEFAULT_LEEWAY,
    DEFAULT_MAX_AGE,
    DpopNonceSource,
    check_proof,
    spend_jti,
)
from ._replay import ReplayClaim, ReplayStore, never_blocks, run_claims

__all__ = ["DpopProofVerifier", "DpopVerifier"]


@runtime_checkable
class DpopProofVerifier(Protocol):
    """Checks an RFC 9449 §4.3 proof; returns its key's RFC 7638 thumbprint (``jkt``).

    Raises :class:`~xaa.InvalidDpopProof` (or ``UseDpopNonce``) on any defect.
    With ``access_token`` (at a resource server) the proof must carry its ``ath``.
    """

    @property
    def algs(self) -> tuple[str, ...]:
        """Accepted proof algorithms (advertised, and the challenge's ``algs``)."""
        ...

    def verify(
        self,
        proof: str | Sequence[str],
        *,
        method: str,
        url: str,
        now: float,
        access_token: str | None = None,
    ) -> str:
        """The proof key's thumbprint, or raise ``invalid_dpop_proof``/``use_dpop_nonce``."""
        ...


@dataclass(frozen=True, slots=True)
class DpopVerifier:
    """Checks DPoP proofs for one server: its replay store, nonces, algorithms and window.

    ``algs`` is also what the server advertises in ``dpop_signing_alg_values_supported``.
    """

    replay: ReplayStore
    nonces: DpopNonceSource | None = None
    algs: tuple[str, ...] = DEFAULT_DPOP_ALGS
    max_age: int = DEFAULT_MAX_AGE
    leeway: int = DEFAULT_LEEWAY

    @property
    def never_blocks(self) -> bool:
        """Whether its replay store and nonce source answer without blocking."""
        return never_blocks(*(part for part in (self.replay, self.nonces) if part is not None))

    def verify(
        self,
        proof: str | Sequence[str],
        *,
        method: str,
        url: str,
        now: float,
        access_token: str | None = None,
    ) -> str:
        """The RFC 7638 thumbprint of the proof's key, or raise ``invalid_dpop_proof``
        (``use_dpop_nonce`` with a fresh ``DPoP-Nonce`` when a nonce is due; 503 when the
        replay store cannot answer). With ``access_token`` the proof must carry its ``ath``."""
        jkt, call = self.check(proof, method=method, url=url, now=now, access_token=access_token)
        run_claims(spend_jti(call))
        return jkt

    def check(
        self,
        proof: str | Sequence[str],
        *,
        method: str,
        url: str,
        now: float,
        access_token: str | None = None,
    ) -> tuple[str, ReplayClaim]:
        """:meth:`verify` but for the proof's ``jti`` claim, returned for the caller to make
        (:func:`xaa._dpop.check_proof`): :func:`xaa._dpop.spend_jti` makes it."""
        result, call = check_proof(
            proof,
            htm=method,
            htu=url,
            replay=self.replay,
            now=now,
            accepted_algs=self.algs,
            max_age=self.max_age,
            leeway=self.leeway,
            nonce=self.nonces,
            access_token=access_token,
        )
        return result.jkt, call
