"""Who may act for whom: ``may_act``-style rules (RFC 8693 §4.4) over (actor, client, subject).

A denial raises :class:`~xaa.InvalidRequest`: RFC 8693 §2.2.2 makes an
actor token that is "unacceptable based on policy" an ``invalid_request``.
An actor never widens a grant: :func:`narrow_scope` only intersects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._errors import ConfigurationError, InvalidRequest, validated_config
from .._models import NonEmpty
from ._spiffe import SpiffeId, looks_like_spiffe
from ._validation import HARD_MAX_DEPTH, ValidatedActor

ANY = "*"
GROUP_PREFIX = "group:"
DEFAULT_MAX_DEPTH = 2


def narrow_scope(granted_by_client_policy: Set[str], actor_allowed: Set[str] | None) -> set[str]:
    """The scope an actor may receive: never more than the client policy granted.

    ``actor_allowed`` ``None`` means the actor adds no restriction of its own.
    """
    if actor_allowed is None:
        return set(granted_by_client_policy)
    return set(granted_by_client_policy) & set(actor_allowed)


class ActorRule(BaseModel):
    """One rule: ``actor`` may act for ``clients`` on behalf of ``subjects``.

    ``actor``: an exact identifier; ``spiffe://td/path/*`` (that path and below,
    segment-aligned); or ``spiffe://td/*`` (the whole trust domain). A
    non-SPIFFE ``actor`` needs ``actor_issuer``. ``clients``: client ids or
    ``*``. ``subjects``: subject ids, ``group:<name>`` or ``*``. ``scopes``:
    the most this actor may receive (``None``: what the client policy grants).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    actor: NonEmpty
    actor_issuer: NonEmpty | None = None
    clients: frozenset[NonEmpty]
    subjects: frozenset[NonEmpty]
    scopes: frozenset[NonEmpty] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.clients or not self.subjects:
            raise ValueError("a rule names at least one client and one subject")
        if looks_like_spiffe(self.actor):
            SpiffeId.parse(self.actor.removesuffix("/*"))
        elif "*" in self.actor:
            raise ValueError("wildcards are only allowed as a SPIFFE path suffix /*")
        elif self.actor_issuer is None:
            raise ValueError("a non-SPIFFE actor needs actor_issuer")
        return self

    def matches_actor(self, actor: ValidatedActor) -> bool:
        """True when the current actor is the one this rule names."""
        if self.actor_issuer is not None and actor.issuer != self.actor_issuer:
            return False
        if not self.actor.endswith("/*"):
            return actor.subject == self.actor
        if actor.spiffe_id is None:
            return False
        prefix = SpiffeId.parse(self.actor.removesuffix("/*"))  # checked when the rule loaded
        return actor.spiffe_id.trust_domain == prefix.trust_domain and actor.spiffe_id.within(
            prefix.path
        )

    def matches_client(self, client_id: str) -> bool:
        """True when ``client_id`` is named (or any client is)."""
        return ANY in self.clients or client_id in self.clients

    def matches_subject(self, subject: str, groups: Set[str]) -> bool:
        """True when ``subject``, one of its ``groups`` or any subject is named.

        A subject whose identifier starts with ``group:`` never matches a group entry.
        """
        if ANY in self.subjects:
            return True
        if subject in self.subjects and not subject.startswith(GROUP_PREFIX):
            return True
        return any(GROUP_PREFIX + group in self.subjects for group in groups)


class ActorPolicyConfig(BaseModel):
    """The configuration file form of :class:`ConfigActorPolicy`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    max_depth: int = Field(DEFAULT_MAX_DEPTH, ge=1, le=HARD_MAX_DEPTH)
    rules: list[ActorRule]


@dataclass(frozen=True, slots=True)
class DelegationRequest:
    """The triple to authorise: the authenticated client, the subject, the validated actor."""

    client_id: str
    subject: str
    actor: ValidatedActor
    subject_groups: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class ActorGrant:
    """What policy allows: the actor's scope ceiling (``None``: no own ceiling) and chain depth."""

    allowed_scopes: frozenset[str] | None
    max_depth: int


@runtime_checkable
class ActorPolicy(Protocol):
    """Decides whether an actor may act for a client and subject; raises ``InvalidRequest``."""

    def authorize(self, request: DelegationRequest) -> ActorGrant:
        """The grant for ``request``, or raise :class:`~xaa.InvalidRequest`."""
        ...


class ConfigActorPolicy:
    """:class:`ActorPolicy` from a list of :class:`ActorRule`; no matching rule denies."""

    def __init__(self, rules: Sequence[ActorRule], *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        if not 1 <= max_depth <= HARD_MAX_DEPTH:
            raise ConfigurationError(f"max_depth must be between 1 and {HARD_MAX_DEPTH}")
        self.rules = tuple(rules)
        self.max_depth = max_depth

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> ConfigActorPolicy:
        """Build from a mapping such as a parsed TOML table."""
        config = validated_config(ActorPolicyConfig, data)
        return cls(config.rules, max_depth=config.max_depth)

    def authorize(self, request: DelegationRequest) -> ActorGrant:
        """Union of the matching rules' ceilings; a precise ``detail`` when none matches."""
        rules = [r for r in self.rules if r.matches_actor(request.actor)]
        if not rules:
            raise InvalidRequest(detail="no actor rule names this actor")
        rules = [r for r in rules if r.matches_client(request.client_id)]
        if not rules:
            raise InvalidRequest(detail="actor is not allowed to act for this client")
        rules = [r for r in rules if r.matches_subject(request.subject, request.subject_groups)]
        if not rules:
            raise InvalidRequest(detail="actor is not allowed to act for this subject")
        allowed: frozenset[str] | None = frozenset()
        for rule in rules:
            allowed = None if allowed is None or rule.scopes is None else allowed | rule.scopes
        return ActorGrant(allowed, self.max_depth)


def check_may_act(may_act: object, actor: ValidatedActor) -> None:
    """RFC 8693 §4.4: when the subject token names who may act, the actor must be that party."""
    if may_act is None:
        return
    if not isinstance(may_act, Mapping) or not isinstance(may_act.get("sub"), str):
        raise InvalidRequest(detail="subject token may_act is malformed")
    if may_act["sub"] != actor.subject:
        raise InvalidRequest(detail="actor is not the party named by may_act")
    iss = may_act.get("iss")
    if iss is not None and iss != actor.issuer:
        raise InvalidRequest(detail="actor issuer is not the one named by may_act")
