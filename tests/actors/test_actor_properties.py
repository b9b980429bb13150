"""Hypothesis properties: SPIFFE ID parsing, chain depth and order, scope narrowing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.actors.world import (
    AGENTS,
    CLIENT,
    IDP,
    NOW,
    POLICY,
    SPIRE,
    TRUST,
    actor_access_token,
    svid,
)
from xaa import Actor, InvalidRequest
from xaa.actors import (
    ConfigActorPolicy,
    InvalidSpiffeId,
    SpiffeId,
    ValidatedActor,
    authorize_actor,
    build_act,
    describe_delegation,
    narrow_scope,
)
from xaa.spec import TOKEN_TYPE_ACCESS_TOKEN

TD_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-_"
SEG_ALPHABET = TD_ALPHABET + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

trust_domains = st.text(TD_ALPHABET, min_size=1, max_size=40)
segments = st.text(SEG_ALPHABET, min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))
paths = st.lists(segments, max_size=6).map(lambda segs: "".join("/" + s for s in segs))


@given(trust_domains, paths)
def test_valid_spiffe_ids_round_trip(domain: str, path: str) -> None:
    value = f"spiffe://{domain}{path}"
    parsed = SpiffeId.parse(value)
    assert (parsed.trust_domain, parsed.path, str(parsed)) == (domain, path, value)


@given(st.text(max_size=80))
def test_parser_accepts_only_what_it_can_print_back(value: str) -> None:
    try:
        parsed = SpiffeId.parse(value)
    except InvalidSpiffeId:
        return
    assert str(parsed) == value


@given(
    trust_domains,
    paths,
    st.sampled_from(["?", "#", "%2F", "@", ":8443", " ", "é", "/", "/.", "/..", "//"]),
)
def test_any_forbidden_piece_in_the_path_is_rejected(domain: str, path: str, bad: str) -> None:
    with pytest.raises(InvalidSpiffeId):
        SpiffeId.parse(f"spiffe://{domain}{path}{bad}")


@given(trust_domains, paths, st.sampled_from(["A", ":", "@", "%", "?", "é"]))
def test_any_forbidden_character_in_the_trust_domain_is_rejected(
    domain: str, path: str, bad: str
) -> None:
    with pytest.raises(InvalidSpiffeId):
        SpiffeId.parse(f"spiffe://{domain}{bad}{path}")


@given(st.sampled_from(["SPIFFE://", "spiffe:/", "spiffe:", "https://", ""]), trust_domains, paths)
def test_other_schemes_are_rejected(scheme: str, domain: str, path: str) -> None:
    with pytest.raises(InvalidSpiffeId):
        SpiffeId.parse(f"{scheme}{domain}{path}")


def nested(subs: list[str]) -> Actor | None:
    act: Actor | None = None
    for sub in reversed(subs):
        act = Actor(sub=sub, act=act)
    return act


@given(st.lists(st.text(min_size=1, max_size=8), max_size=10), st.integers(1, 8))
def test_build_act_bounds_depth_and_keeps_order(prior: list[str], max_depth: int) -> None:
    actor = ValidatedActor("current", AGENTS, TOKEN_TYPE_ACCESS_TOKEN, None, nested(prior))
    if len(prior) + 1 > max_depth:
        with pytest.raises(InvalidRequest):
            build_act(actor, max_depth=max_depth)
        return
    act = build_act(actor, max_depth=max_depth)
    assert act.chain() == ["current", *prior]
    assert describe_delegation("alice", act) == " via ".join(["alice", *reversed(prior), "current"])


@given(st.integers(0, 5), st.integers(1, 6))
def test_chain_depth_through_a_verified_access_token(prior: int, max_depth: int) -> None:
    subs = [f"spiffe://acme.example/agent/a{i}" for i in range(prior)]
    act = nested(subs)
    token = actor_access_token(act=act.model_dump(exclude_none=True) if act else None)
    policy = ConfigActorPolicy(POLICY.rules, max_depth=max_depth)

    def decide() -> list[str]:
        return authorize_actor(
            token,
            TOKEN_TYPE_ACCESS_TOKEN,
            trust=TRUST,
            policy=policy,
            idp_issuer=IDP,
            client_id=CLIENT,
            subject="alice",
            now=NOW,
        ).actors

    if prior + 1 > max_depth:
        with pytest.raises(InvalidRequest):
            decide()
        return
    assert len(decide()) == prior + 1


@given(st.sets(st.text(max_size=5)), st.none() | st.sets(st.text(max_size=5)))
def test_narrow_scope_is_a_subset_of_both(granted: set[str], actor: set[str] | None) -> None:
    narrowed = narrow_scope(granted, actor)
    assert narrowed <= granted
    if actor is not None:
        assert narrowed <= actor
    else:
        assert narrowed == granted


def test_spire_issuer_is_configured() -> None:
    assert TRUST.find(SPIRE, "urn:ietf:params:oauth:token-type:jwt") is not None


@given(st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    token = actor_access_token()
    index = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[index]))
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidRequest):
        authorize_actor(
            tampered,
            TOKEN_TYPE_ACCESS_TOKEN,
            trust=TRUST,
            policy=POLICY,
            idp_issuer=IDP,
            client_id=CLIENT,
            subject="alice",
            now=NOW,
        )


@given(st.integers(-400, 400))
def test_jwt_svid_time_window(offset: int) -> None:
    """iat NOW-10, exp NOW+290, leeway 30: accepted exactly for NOW-40 <= now < NOW+320."""
    now = NOW + offset
    ok = NOW - 40 <= now < NOW + 320

    def decide() -> list[str]:
        return authorize_actor(
            svid(),
            "urn:ietf:params:oauth:token-type:jwt",
            trust=TRUST,
            policy=POLICY,
            idp_issuer=IDP,
            client_id=CLIENT,
            subject="alice",
            now=now,
        ).actors

    if ok:
        assert decide() == ["spiffe://acme.example/agent/triage"]
    else:
        with pytest.raises(InvalidRequest):
            decide()
