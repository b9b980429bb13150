"""The ``act`` chain (RFC 8693 §4.1): build it at the IdP, check and show it downstream.

The current actor is outermost, earlier actors nested. Each entry carries
only ``sub`` and ``iss``: no other actor attribute crosses the trust domain.
The authenticated client is never an actor (draft §8.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from .._errors import ConfigurationError, InvalidGrant, InvalidRequest
from .._models import AccessTokenClaims, Actor, IdJagClaims
from ..resource._policy import ResourceActorPolicy
from ._validation import ValidatedActor

__all__ = [
    "ActorRequirement",
    "ConfigResourceActorPolicy",
    "ResourceActorPolicy",
    "actor_chain",
    "build_act",
    "describe_delegation",
]

ActorRequirement = Literal["require", "refuse", "allow"]


def build_act(actor: ValidatedActor, *, max_depth: int) -> Actor:
    """The ID-JAG ``act``: ``actor`` outermost, its verified earlier chain nested.

    Raises :class:`~xaa.InvalidRequest` when the chain would be longer
    than ``max_depth`` actors.
    """
    act = Actor(sub=actor.subject, iss=actor.issuer, act=actor.prior)
    depth = len(act.chain())
    if depth > max_depth:
        raise InvalidRequest(detail=f"actor chain of {depth} exceeds the maximum of {max_depth}")
    return act


def actor_chain(source: Actor | IdJagClaims | AccessTokenClaims | None) -> list[str]:
    """Actor subjects, current (outermost) first; empty when nobody acts."""
    act = source if isinstance(source, Actor) or source is None else source.act
    return act.chain() if act is not None else []


def describe_delegation(subject: str, act: Actor | None) -> str:
    """``alice via A via B``: the subject, then actors in the order the request travelled.

    ``A`` is the earliest actor and ``B`` the current one; without actors, just ``alice``.
    """
    return " via ".join([subject, *reversed(actor_chain(act))])


class ConfigResourceActorPolicy:
    """:class:`ResourceActorPolicy` from a client -> ``require``/``refuse``/``allow`` table.

    ``default`` applies to clients not in the table and has no default itself.
    ``max_depth`` (optional) bounds the chain this AS accepts.
    """

    def __init__(
        self,
        per_client: Mapping[str, ActorRequirement],
        *,
        default: ActorRequirement,
        max_depth: int | None = None,
    ) -> None:
        choices = {"require", "refuse", "allow"}
        if default not in choices or not choices.issuperset(per_client.values()):
            raise ConfigurationError("actor requirements are require, refuse or allow")
        if max_depth is not None and max_depth < 1:
            raise ConfigurationError("max_depth must be at least 1")
        self.per_client = dict(per_client)
        self.default = default
        self.max_depth = max_depth

    def check(self, act: Actor | None, client_id: str) -> None:
        """Refuse an ``act`` where actors are refused, its absence where one is required."""
        requirement = self.per_client.get(client_id, self.default)
        if act is None:
            if requirement == "require":
                raise InvalidGrant(detail="this client must present an actor (act)")
            return
        if requirement == "refuse":
            raise InvalidGrant(detail="actors (act) are refused for this client")
        if self.max_depth is not None and len(act.chain()) > self.max_depth:
            raise InvalidGrant(detail="actor chain deeper than this AS accepts")
