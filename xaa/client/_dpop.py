"""The client's DPoP key and proofs for every hop (RFC 9449, draft §8.6).

- :class:`DpopKeyProver` is the ready :class:`~xaa.client.DpopProver`: one
  :class:`~xaa.dpop.DpopKey` per client identity (ES256, or EdDSA), a fresh proof per
  request, the last ``DPoP-Nonce`` of each server reused until it asks for another.
- :func:`send_with_nonce` sends one request and, on a ``use_dpop_nonce`` challenge
  (RFC 9449 §8 at an AS, §9 at an RS), sends it once more with the nonce: one retry
  per hop, a second challenge goes back to the caller as the error it is.

Downgrade detection lives in the response processors: the ID-JAG must carry
``cnf.jkt`` equal to :attr:`DpopKeyProver.thumbprint` and the access token must come
back as ``DPoP`` (:mod:`xaa.client._requests`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator

from .. import spec
from .._dpop import DpopKey, dpop_nonce_challenge, make_proof
from .._errors import HttpResponse
from ._http import Request, origin
from ._requests import DpopProver

__all__ = ["DpopKeyProver", "send_with_nonce"]

MAX_REMEMBERED_NONCES = 64


class DpopKeyProver:
    """Signs a fresh DPoP proof per request with one key (RFC 9449 §4.2)."""

    def __init__(self, key: DpopKey) -> None:
        self.key = key
        self._nonces: dict[tuple[str, str, int], str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DpopKeyProver(alg={self.key.alg!r}, jkt={self.key.jkt!r})"

    @classmethod
    def generate(cls, alg: str = spec.ALG_ES256) -> DpopKeyProver:
        """A prover with a fresh key pair (``ES256`` or ``EdDSA``)."""
        return cls(DpopKey.generate(alg))

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint of the key: what ``cnf.jkt`` must say."""
        return self.key.jkt

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A proof for ``method url``; ``nonce`` replaces the server's remembered nonce;
        ``access_token`` adds its ``ath`` (at a resource server)."""
        server = origin(url)
        with self._lock:
            if nonce is not None:
                if len(self._nonces) >= MAX_REMEMBERED_NONCES:
                    self._nonces.clear()
                self._nonces[server] = nonce
            current = self._nonces.get(server)
        return make_proof(self.key, method, url, nonce=current, access_token=access_token)


def send_with_nonce(
    build: Callable[[str | None], Request], dpop: DpopProver | None
) -> Generator[Request, HttpResponse, HttpResponse]:
    """Yield ``build(None)``; on a ``use_dpop_nonce`` challenge yield ``build(nonce)`` once.

    ``build`` must make a new request (a fresh proof, a fresh client assertion) each call.
    """
    response = yield build(None)
    if dpop is None:
        return response
    nonce = dpop_nonce_challenge(response.status, response.headers, response.body)
    if nonce is None:
        return response
    return (yield build(nonce))
