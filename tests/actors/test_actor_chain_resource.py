"""The act claim downstream: carried through ID-JAG and access token, checked by the AS, shown."""

from __future__ import annotations

import pytest

from tests.actors.world import AGENTS, NOW, SPIRE, SUMMARIZER, TRIAGE
from xaa import (
    AccessTokenClaims,
    Actor,
    AuditEvent,
    IdJagClaims,
    InvalidGrant,
    JwkSet,
    SigningKey,
    issue_access_token,
    issue_id_jag,
    verify_access_token,
    verify_id_jag,
)
from xaa.actors import (
    ConfigResourceActorPolicy,
    ResourceActorPolicy,
    actor_chain,
    describe_delegation,
)

AS = "https://as.chat.example"
API = "https://api.chat.example"
TWO_HOPS = Actor(sub=SUMMARIZER, iss=AGENTS, act=Actor(sub=TRIAGE, iss=SPIRE))


def test_one_actor_display() -> None:
    act = Actor(sub=TRIAGE, iss=SPIRE)
    assert describe_delegation("alice", act) == "alice via spiffe://acme.example/agent/triage"


def test_two_actors_display_in_travel_order_and_chain_current_first() -> None:
    assert actor_chain(TWO_HOPS) == [SUMMARIZER, TRIAGE]
    assert describe_delegation("alice", TWO_HOPS) == f"alice via {TRIAGE} via {SUMMARIZER}"


def test_no_actor() -> None:
    assert actor_chain(None) == []
    assert describe_delegation("alice", None) == "alice"


def test_act_survives_id_jag_and_access_token_unchanged() -> None:
    idp, as_key = SigningKey.generate(kid="idp"), SigningKey.generate(kid="as")
    claims = IdJagClaims.new(
        issuer="https://idp.acme.example",
        subject="alice",
        audience=AS,
        client_id="chat-client",
        now=NOW,
        act=TWO_HOPS,
    )
    id_jag = verify_id_jag(
        issue_id_jag(claims, idp),
        keys=JwkSet([idp.verification_key()]),
        issuer="https://idp.acme.example",
        audience=AS,
        client_id="chat-client",
        now=NOW,
    ).claims
    ConfigResourceActorPolicy({}, default="allow").check(id_jag.act, "chat-client")
    access = AccessTokenClaims(
        iss=AS,
        sub="alice",
        aud=API,
        client_id="chat-client",
        jti="at-9",
        iat=NOW,
        exp=NOW + 300,
        act=id_jag.act,
    )
    at = verify_access_token(
        issue_access_token(access, as_key),
        keys=JwkSet([as_key.verification_key()]),
        issuer=AS,
        resource=API,
        now=NOW,
    ).claims
    assert at.act == TWO_HOPS
    assert actor_chain(at) == actor_chain(id_jag) == [SUMMARIZER, TRIAGE]
    event = AuditEvent(
        event="rs.request", decision="issued", subject=at.sub, actors=actor_chain(at)
    )
    assert event.actors == [SUMMARIZER, TRIAGE]


def test_config_resource_policy_is_a_resource_actor_policy() -> None:
    assert isinstance(ConfigResourceActorPolicy({}, default="allow"), ResourceActorPolicy)


@pytest.mark.parametrize(
    ("requirement", "act", "detail"),
    [
        ("refuse", TWO_HOPS, "actors (act) are refused"),
        ("refuse", Actor(sub=TRIAGE), "actors (act) are refused"),
        ("require", None, "must present an actor"),
    ],
)
def test_resource_as_requirement_violations_are_invalid_grant(
    requirement: str, act: Actor | None, detail: str
) -> None:
    policy = ConfigResourceActorPolicy({"chat-client": requirement}, default="allow")  # type: ignore[dict-item]
    with pytest.raises(InvalidGrant) as info:
        policy.check(act, "chat-client")
    exc = info.value
    assert (exc.error, exc.status) == ("invalid_grant", 400)
    assert detail in exc.detail
    assert exc.to_response().headers["cache-control"] == "no-store"


def test_resource_as_requirements_that_hold() -> None:
    policy = ConfigResourceActorPolicy(
        {"agents": "require", "humans": "refuse"}, default="allow", max_depth=2
    )
    policy.check(TWO_HOPS, "agents")
    policy.check(None, "humans")
    policy.check(None, "other")
    policy.check(TWO_HOPS, "other")


def test_resource_as_depth_limit() -> None:
    policy = ConfigResourceActorPolicy({}, default="allow", max_depth=1)
    policy.check(Actor(sub=TRIAGE), "c")
    with pytest.raises(InvalidGrant) as info:
        policy.check(TWO_HOPS, "c")
    assert "deeper than this AS accepts" in info.value.detail


@pytest.mark.parametrize(
    ("per_client", "default", "max_depth"),
    [({}, "requre", None), ({"c": "deny"}, "allow", None), ({}, "allow", 0)],
)
def test_misconfigured_resource_policy_refuses_to_load(
    per_client: dict[str, str], default: str, max_depth: int | None
) -> None:
    with pytest.raises(ValueError):
        ConfigResourceActorPolicy(per_client, default=default, max_depth=max_depth)  # type: ignore[arg-type]
