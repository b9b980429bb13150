"""xaa's actor profile: ``actor_token`` and ``act`` chains (draft §4.3, §8.5; RFC 8693 §4.1, §4.4).

Sans-I/O. See ``docs/actors.md`` for the profile.
"""

from ._chain import (
    ActorRequirement,
    ConfigResourceActorPolicy,
    ResourceActorPolicy,
    actor_chain,
    build_act,
    describe_delegation,
)
from ._delegation import ActorDecision, authorize_actor
from ._policy import (
    ActorGrant,
    ActorPolicy,
    ActorPolicyConfig,
    ActorRule,
    ConfigActorPolicy,
    DelegationRequest,
    check_may_act,
    narrow_scope,
)
from ._provider import ActorCredential, ActorTokenProvider, ActorTokenUnavailable
from ._spiffe import InvalidSpiffeId, SpiffeId, jwt_svid_keys
from ._validation import (
    ACTOR_ACCESS_TOKEN,
    WORKLOAD_JWT,
    ActorIssuer,
    ActorTrust,
    ValidatedActor,
    WorkloadJwtClaims,
    verify_actor_token,
)

__all__ = [
    "ACTOR_ACCESS_TOKEN",
    "WORKLOAD_JWT",
    "ActorCredential",
    "ActorDecision",
    "ActorGrant",
    "ActorIssuer",
    "ActorPolicy",
    "ActorPolicyConfig",
    "ActorRequirement",
    "ActorRule",
    "ActorTokenProvider",
    "ActorTokenUnavailable",
    "ActorTrust",
    "ConfigActorPolicy",
    "ConfigResourceActorPolicy",
    "DelegationRequest",
    "InvalidSpiffeId",
    "ResourceActorPolicy",
    "SpiffeId",
    "ValidatedActor",
    "WorkloadJwtClaims",
    "actor_chain",
    "authorize_actor",
    "build_act",
    "check_may_act",
    "describe_delegation",
    "jwt_svid_keys",
    "narrow_scope",
    "verify_actor_token",
]
