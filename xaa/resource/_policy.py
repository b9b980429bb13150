"""Local policy of the resource AS: grants per client, served resources, actors, DPoP.

Each hook is a typed ``Protocol`` with a ready, config-driven implementation:

- :class:`GrantPolicy` / :class:`StaticGrantPolicy`: which grant types a client
  may use and which scopes and authorization detail types it may receive.
- :class:`ServedResource`: an RFC 8707 resource this AS issues tokens for.
- :class:`ResourceActorPolicy` / :class:`CarryActor`: decides on the ``act`` chain
  (RFC 8693 §4.1); the ready policy carries it into the access token unchanged.
  (The IdP's delegation policy is :class:`xaa.actors.ActorPolicy`.)
- DPoP proofs at the token endpoint (draft §8.6.1.2) go through the one seam
  :class:`xaa.DpopProofVerifier`. Without one, an ID-JAG with ``cnf``
  is ``invalid_grant`` and a ``DPoP`` header is ``invalid_dpop_proof``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .. import spec
from .._models import Actor
from ._subjects import Account


@dataclass(frozen=True, slots=True)
class ServedResource:
    """A protected resource (RFC 8707 identifier) and the scopes it understands.

    ``requires_dpop``: tokens for it must be sender-constrained (draft §8.6.1.2 case 4).
    """

    identifier: str
    scopes: frozenset[str]
    requires_dpop: bool = False


@runtime_checkable
class GrantPolicy(Protocol):
    """What each client may obtain at this AS."""

    def grant_enabled(self, client_id: str, grant_type: str) -> bool:
        """Whether ``client_id`` may use ``grant_type`` (else ``unauthorized_client``)."""
        ...

    def allowed_scopes(self, client_id: str, account: Account) -> frozenset[str] | None:
        """Scopes the client may receive for ``account``; ``None`` for no extra limit."""
        ...

    def allowed_detail_types(self, client_id: str) -> frozenset[str]:
        """RFC 9396 authorization detail ``type`` values the client may receive."""
        ...


@dataclass(frozen=True, slots=True)
class ClientGrant:
    """One client's entry in a :class:`StaticGrantPolicy`."""

    client_id: str
    grant_types: frozenset[str] = frozenset({spec.GRANT_JWT_BEARER})
    scopes: frozenset[str] | None = None
    detail_types: frozenset[str] = field(default_factory=frozenset)


class StaticGrantPolicy:
    """A :class:`GrantPolicy` from configuration; unknown clients get nothing."""

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(self, grants: Iterable[ClientGrant]) -> None:
        self._grants = {g.client_id: g for g in grants}

    def grant_enabled(self, client_id: str, grant_type: str) -> bool:
        grant = self._grants.get(client_id)
        return grant is not None and grant_type in grant.grant_types

    def allowed_scopes(self, client_id: str, account: Account) -> frozenset[str] | None:
        del account
        grant = self._grants.get(client_id)
        return grant.scopes if grant is not None else frozenset()

    def allowed_detail_types(self, client_id: str) -> frozenset[str]:
        grant = self._grants.get(client_id)
        return grant.detail_types if grant is not None else frozenset()


@runtime_checkable
class ResourceActorPolicy(Protocol):
    """Decides whether an ``act`` chain may be honoured at the resource AS; raises
    ``OAuthError`` to refuse."""

    def check(self, act: Actor | None, client_id: str) -> None:
        """Accept or refuse ``act`` for ``client_id``."""
        ...


class CarryActor:
    """The ready :class:`ResourceActorPolicy`: any chain is carried into the access token unchanged.

    The ID-JAG's signature already vouches for ``act``; the chain is recorded
    so the API can tell which actor acted (draft §8.5).
    """

    never_blocks = True

    def check(self, act: Actor | None, client_id: str) -> None:
        del act, client_id
