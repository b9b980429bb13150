"""ActorRule / ConfigActorPolicy / narrow_scope: the policy model on its own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.actors.world import AGENTS, CLIENT, SPIRE, TRIAGE, assert_rejected
from xaa import ConfigurationError, InvalidRequest
from xaa.actors import (
    ActorPolicy,
    ActorRule,
    ConfigActorPolicy,
    DelegationRequest,
    SpiffeId,
    ValidatedActor,
    narrow_scope,
)
from xaa.spec import TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT


def spiffe_actor(sub: str, iss: str = SPIRE) -> ValidatedActor:
    return ValidatedActor(sub, iss, TOKEN_TYPE_JWT, SpiffeId.parse(sub), None)


def plain_actor(sub: str, iss: str) -> ValidatedActor:
    return ValidatedActor(sub, iss, TOKEN_TYPE_ACCESS_TOKEN, None, None)


def rule(actor: str, **kw: object) -> ActorRule:
    data: dict[str, object] = {"actor": actor, "clients": [CLIENT], "subjects": ["*"]}
    data.update(kw)
    return ActorRule.model_validate(data)


def allowed(policy: ConfigActorPolicy, actor: ValidatedActor, subject: str = "alice") -> bool:
    try:
        policy.authorize(DelegationRequest(CLIENT, subject, actor))
    except InvalidRequest:
        return False
    return True


def test_config_policy_is_an_actor_policy() -> None:
    assert isinstance(ConfigActorPolicy([rule(TRIAGE)]), ActorPolicy)


@pytest.mark.parametrize(
    ("pattern", "sub", "ok"),
    [
        (TRIAGE, TRIAGE, True),
        (TRIAGE, TRIAGE + "/child", False),
        ("spiffe://acme.example/agent/*", TRIAGE, True),
        ("spiffe://acme.example/agent/*", "spiffe://acme.example/agent", True),
        ("spiffe://acme.example/agent/*", "spiffe://acme.example/agents/x", False),
        ("spiffe://acme.example/agent/*", "spiffe://acme.example.evil/agent/x", False),
        ("spiffe://acme.example/*", "spiffe://acme.example/any/thing", True),
        ("spiffe://acme.example/*", "spiffe://partner.example/agent/x", False),
    ],
)
def test_spiffe_patterns_match_exact_prefix_and_trust_domain(
    pattern: str, sub: str, ok: bool
) -> None:
    assert allowed(ConfigActorPolicy([rule(pattern)]), spiffe_actor(sub)) is ok


def test_non_spiffe_actor_matches_only_with_its_issuer() -> None:
    policy = ConfigActorPolicy([rule("build-bot", actor_issuer=AGENTS)])
    assert allowed(policy, plain_actor("build-bot", AGENTS))
    assert not allowed(policy, plain_actor("build-bot", "https://other.example"))


@pytest.mark.parametrize(
    "data",
    [
        {"actor": "build-bot", "clients": [CLIENT], "subjects": ["*"]},
        {"actor": "bot-*", "actor_issuer": AGENTS, "clients": [CLIENT], "subjects": ["*"]},
        {"actor": "spiffe://ACME/x", "clients": [CLIENT], "subjects": ["*"]},
        {"actor": TRIAGE, "clients": [], "subjects": ["*"]},
        {"actor": TRIAGE, "clients": [CLIENT], "subjects": []},
        {"actor": TRIAGE, "clients": [CLIENT], "subjects": ["*"], "may": "x"},
    ],
)
def test_misconfigured_rules_refuse_to_load(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ActorRule.model_validate(data)


def test_policy_max_depth_is_bounded() -> None:
    with pytest.raises(ValueError):
        ConfigActorPolicy([rule(TRIAGE)], max_depth=0)
    with pytest.raises(ConfigurationError, match=r"^ActorPolicyConfig: max_depth: "):
        ConfigActorPolicy.from_config({"max_depth": 99, "rules": []})


def test_subjects_by_id_group_or_any() -> None:
    policy = ConfigActorPolicy([rule(TRIAGE, subjects=["alice", "group:eng"])])
    actor = spiffe_actor(TRIAGE)
    assert policy.authorize(DelegationRequest(CLIENT, "alice", actor))
    assert policy.authorize(DelegationRequest(CLIENT, "bob", actor, frozenset({"eng"})))
    with pytest.raises(InvalidRequest) as info:
        policy.authorize(DelegationRequest(CLIENT, "bob", actor, frozenset({"sales"})))
    assert_rejected(info.value, "invalid_request", "not allowed to act for this subject")
    with pytest.raises(InvalidRequest):
        policy.authorize(DelegationRequest(CLIENT, "group:eng", actor))


def test_matching_rules_union_their_ceilings_and_none_means_no_ceiling() -> None:
    actor = spiffe_actor(TRIAGE)
    two = ConfigActorPolicy([rule(TRIAGE, scopes=["a"]), rule(TRIAGE, scopes=["b"])])
    assert two.authorize(DelegationRequest(CLIENT, "alice", actor)).allowed_scopes == frozenset(
        {"a", "b"}
    )
    open_ = ConfigActorPolicy([rule(TRIAGE, scopes=["a"]), rule(TRIAGE)])
    assert open_.authorize(DelegationRequest(CLIENT, "alice", actor)).allowed_scopes is None


def test_narrow_scope_never_widens() -> None:
    granted = {"chat.read", "chat.history"}
    assert narrow_scope(granted, {"chat.read", "chat.write"}) == {"chat.read"}
    assert narrow_scope(granted, None) == granted
    assert narrow_scope(granted, set()) == set()
    assert narrow_scope(set(), {"chat.read"}) == set()
