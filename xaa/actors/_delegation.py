"""One call for the IdP token exchange: validate the actor token, authorise, build ``act``."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from .._models import Actor
from .._tokens import DEFAULT_LEEWAY
from ._chain import build_act
from ._policy import ActorPolicy, DelegationRequest, check_may_act
from ._validation import ActorTrust, ValidatedActor, verify_actor_token


@dataclass(frozen=True, slots=True)
class ActorDecision:
    """The outcome for an accepted actor: the ``act`` claim and the actor's scope ceiling."""

    actor: ValidatedActor
    act: Actor
    allowed_scopes: frozenset[str] | None

    @property
    def actors(self) -> list[str]:
        """The chain for audit events, current actor first."""
        return self.act.chain()


def authorize_actor(
    actor_token: object,
    actor_token_type: object,
    *,
    trust: ActorTrust,
    policy: ActorPolicy,
    idp_issuer: str,
    client_id: str,
    subject: str,
    subject_groups: Set[str] = frozenset(),
    subject_may_act: object = None,
    now: float | None = None,
    leeway: int = DEFAULT_LEEWAY,
) -> ActorDecision:
    """Validate, authorise and chain an ``actor_token`` (RFC 8693 §2.1, §4.1, §4.4).

    ``subject`` is the subject the ID-JAG will name and ``subject_may_act`` the
    subject token's ``may_act`` claim, if any. Every refusal raises
    :class:`~xaa.InvalidRequest` (RFC 8693 §2.2.2). The caller narrows
    the granted scope with :func:`~xaa.actors.narrow_scope` and
    ``allowed_scopes``.
    """
    actor = verify_actor_token(
        actor_token,
        actor_token_type,
        trust=trust,
        audience=idp_issuer,
        client_id=client_id,
        now=now,
        leeway=leeway,
    )
    check_may_act(subject_may_act, actor)
    grant = policy.authorize(
        DelegationRequest(client_id, subject, actor, frozenset(subject_groups))
    )
    return ActorDecision(actor, build_act(actor, max_depth=grant.max_depth), grant.allowed_scopes)
