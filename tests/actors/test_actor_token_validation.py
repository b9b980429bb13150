"""Actor token validation and the whole IdP decision (authorize_actor): one defect per case."""

from __future__ import annotations

from typing import Any

import pytest

from tests.actors.world import (
    AGENTS,
    ATTACKER_KEY,
    CLIENT,
    IDP,
    NOW,
    PARTNER_AGENT,
    PARTNER_KEY,
    PARTNER_SPIRE,
    POLICY,
    ROUTER,
    SPIRE,
    SPIRE_KEY,
    SUMMARIZER,
    TRIAGE,
    TRUST,
    actor_access_token,
    assert_rejected,
    svid,
)
from tests.support.forge import DROP, compact
from xaa import Actor, InvalidRequest, JwkSet, SigningKey, verify_id_token
from xaa.actors import (
    ActorDecision,
    ActorIssuer,
    ActorTrust,
    ConfigActorPolicy,
    authorize_actor,
    jwt_svid_keys,
)
from xaa.spec import TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT

JWT = TOKEN_TYPE_JWT
AT = TOKEN_TYPE_ACCESS_TOKEN


def decide(token: str, token_type: str = JWT, **kw: Any) -> ActorDecision:
    args: dict[str, Any] = {
        "trust": TRUST,
        "policy": POLICY,
        "idp_issuer": IDP,
        "client_id": CLIENT,
        "subject": "alice",
        "now": NOW,
    }
    args.update(kw)
    return authorize_actor(token, token_type, **args)


def rejected(token: str, detail: str, token_type: str = JWT, **kw: Any) -> None:
    with pytest.raises(InvalidRequest) as info:
        decide(token, token_type, **kw)
    assert_rejected(info.value, "invalid_request", detail, token)


# --- positive -------------------------------------------------------------------------


def test_spiffe_jwt_svid_actor_gives_one_actor_chain() -> None:
    decision = decide(svid())
    assert decision.act == Actor(sub=TRIAGE, iss=SPIRE)
    assert decision.actors == [TRIAGE]
    assert decision.actor.spiffe_id is not None
    assert decision.actor.spiffe_id.trust_domain == "acme.example"
    assert decision.actor.spiffe_id.path == "/agent/triage"
    assert decision.allowed_scopes == frozenset({"chat.read", "chat.history"})


def test_access_token_actor_gives_two_nested_actors_current_outermost() -> None:
    decision = decide(actor_access_token(), AT)
    assert decision.act == Actor(sub=SUMMARIZER, iss=AGENTS, act=Actor(sub=TRIAGE, iss=SPIRE))
    assert decision.actors == [SUMMARIZER, TRIAGE]
    assert CLIENT not in decision.actors  # draft §8.5: the client is not an actor


def test_access_token_actor_without_act_is_one_actor() -> None:
    assert decide(actor_access_token(act=DROP), AT).actors == [SUMMARIZER]


def test_nested_actor_attributes_other_than_sub_and_iss_are_dropped() -> None:
    act = {"sub": TRIAGE, "iss": SPIRE, "email": "triage@acme.example", "groups": ["ops"]}
    decision = decide(actor_access_token(act=act), AT)
    assert decision.act.model_dump(exclude_none=True) == {
        "sub": SUMMARIZER,
        "iss": AGENTS,
        "act": {"sub": TRIAGE, "iss": SPIRE},
    }


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt", "JOSE", "application/jwt"])
def test_jwt_svid_typ_absent_jwt_or_jose_is_accepted(typ: object) -> None:
    assert decide(svid(header={"typ": typ})).actors == [TRIAGE]


def test_aud_array_containing_the_idp_is_accepted() -> None:
    assert decide(svid(aud=["https://other.example", IDP])).actors == [TRIAGE]


def test_subject_in_an_allowed_group_is_accepted() -> None:
    assert decide(svid(), subject="bob", subject_groups={"eng"}).actors == [TRIAGE]


def test_may_act_naming_the_actor_is_accepted() -> None:
    decision = decide(svid(), subject_may_act={"sub": TRIAGE, "iss": SPIRE})
    assert decision.actors == [TRIAGE]


def test_time_boundaries_inside_leeway_are_accepted() -> None:
    assert decide(svid(exp=NOW - 29, iat=NOW - 100)).actors == [TRIAGE]
    assert decide(svid(iat=NOW + 30, exp=NOW + 100)).actors == [TRIAGE]
    assert decide(svid(iat=NOW - 10, exp=NOW + 290, nbf=NOW + 30)).actors == [TRIAGE]


def test_lifetime_equal_to_the_maximum_is_accepted() -> None:
    assert decide(svid(iat=NOW - 100, exp=NOW + 200)).actors == [TRIAGE]


# --- negative: the token -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("defect", "detail"),
    [
        ({"exp": NOW - 30, "iat": NOW - 100}, "expired"),
        ({"exp": DROP}, "claims missing or mistyped: exp"),
        ({"iat": DROP}, "claims missing or mistyped: iat"),
        ({"iss": DROP}, "not trusted"),
        ({"iat": NOW + 31, "exp": NOW + 100}, "iat in the future"),
        ({"nbf": NOW + 31}, "nbf in the future"),
        ({"iat": NOW - 100, "exp": NOW + 201}, "lifetime exceeds maximum"),
        ({"aud": ["https://other-idp.example"]}, "aud mismatch"),
        ({"aud": "https://idp.acme.example/"}, "aud mismatch"),
        ({"aud": DROP}, "claims missing or mistyped: aud"),
        ({"iss": "https://spire.acme.example/"}, "not trusted"),
        ({"iss": AGENTS}, "not trusted"),
        ({"sub": PARTNER_AGENT}, "outside the issuer's trust domain"),
        ({"sub": "spiffe://acme.example"}, "names a trust domain, not a workload"),
        ({"sub": "spiffe://ACME.example/agent"}, "not a SPIFFE ID"),
        ({"sub": "spiffe://acme.example/agent/../admin"}, "not a SPIFFE ID"),
        ({"sub": "triage"}, "not a SPIFFE ID"),
        ({"act": {"sub": ROUTER}}, "workload JWT carries act"),
    ],
)
def test_jwt_svid_with_one_defect_is_rejected(defect: dict[str, Any], detail: str) -> None:
    rejected(svid(**defect), detail)


@pytest.mark.parametrize(
    "typ", ["oauth-id-jag+jwt", "at+jwt", "dpop+jwt", "client-authentication+jwt", "secevent+jwt"]
)
def test_jwt_svid_with_a_token_typ_of_another_kind_is_rejected(typ: str) -> None:
    rejected(svid(header={"typ": typ}), "typ is not that of an actor JWT")


def test_right_kid_wrong_key_is_rejected() -> None:
    rejected(svid(key=ATTACKER_KEY), "signature invalid")


def test_unknown_kid_is_rejected() -> None:
    rejected(svid(header={"kid": "spire-2"}), "no key for kid")


def test_alg_none_is_rejected() -> None:
    token = svid(header={"alg": "none"})
    rejected(token, "alg not allowed")


def test_untrusted_issuer_with_its_own_key_is_rejected() -> None:
    evil = SigningKey.generate("ES256", kid="evil")
    rejected(svid(key=evil, iss="https://spire.evil.example"), "not trusted")


def test_untrusted_trust_domain_is_rejected_even_with_a_partner_key() -> None:
    """The partner's SPIRE may not speak for acme.example."""
    rejected(svid(key=PARTNER_KEY, iss=PARTNER_SPIRE, sub=TRIAGE), "outside the issuer's")


def test_unsupported_actor_token_type_is_rejected() -> None:
    rejected(svid(), "unsupported actor_token_type", token_type=TOKEN_TYPE_ID_TOKEN)


def test_jwt_svid_labelled_access_token_is_rejected() -> None:
    rejected(svid(), "not trusted", token_type=AT)


def test_not_a_jwt_is_rejected() -> None:
    rejected("not-a-jwt", "not a compact JWS")


# --- negative: access-token actor tokens and forged chains -------------------------------


@pytest.mark.parametrize(
    ("header", "defect", "detail"),
    [
        ({"typ": "JWT"}, {}, "typ is not that of an access token"),
        ({"typ": "oauth-id-jag+jwt"}, {}, "typ is not that of an access token"),
        ({}, {"client_id": "other-client"}, "issued to another client"),
        ({}, {"aud": "https://chat.example"}, "aud mismatch"),
        ({}, {"exp": NOW - 30, "iat": NOW - 100}, "expired"),
        ({}, {"iat": NOW - 10, "exp": NOW + 3591}, "lifetime exceeds maximum"),
        ({}, {"cnf": {"jkt": "abc"}}, "cnf present"),
        ({}, {"act": [{"sub": TRIAGE}]}, "claims missing or mistyped: act"),
        ({}, {"act": {"iss": SPIRE}}, "claims missing or mistyped: act"),
        ({}, {"act": {"sub": "spiffe://acme.example//x"}}, "nested actor is not a SPIFFE ID"),
        ({}, {"sub": "spiffe://partner.example/agent/x"}, "outside the issuer's trust domain"),
    ],
)
def test_access_token_actor_with_one_defect_is_rejected(
    header: dict[str, Any], defect: dict[str, Any], detail: str
) -> None:
    rejected(actor_access_token(header=header, **defect), detail, token_type=AT)


def test_forged_chain_signed_by_an_attacker_is_rejected() -> None:
    forged = actor_access_token(key=SigningKey.generate("ES256", kid="agents-1"))
    rejected(forged, "signature invalid", token_type=AT)


def test_chain_edited_after_signing_is_rejected() -> None:
    good = actor_access_token()
    header, _, signature = good.split(".")
    edited = actor_access_token(act={"sub": ROUTER, "iss": SPIRE}).split(".")[1]
    rejected(f"{header}.{edited}.{signature}", "signature invalid", token_type=AT)


def test_chain_too_deep_is_rejected() -> None:
    deep = {"sub": TRIAGE, "iss": SPIRE, "act": {"sub": ROUTER, "iss": SPIRE}}
    rejected(actor_access_token(act=deep), "actor chain of 3 exceeds the maximum of 2", AT)


@pytest.mark.parametrize(
    ("depth", "detail"),
    [(8, "actor chain longer than 8"), (250, "JSON nested deeper than 32")],  # xaa._safejson
)
def test_absurdly_deep_chain_is_rejected_before_it_is_walked(depth: int, detail: str) -> None:
    act: dict[str, Any] = {"sub": "a"}
    for _ in range(depth - 1):
        act = {"sub": "a", "act": act}
    token = actor_access_token(act=act)
    with pytest.raises(InvalidRequest) as info:
        decide(token, AT, policy=ConfigActorPolicy(POLICY.rules, max_depth=8))
    assert_rejected(info.value, "invalid_request", detail, token)


def test_non_spiffe_issuer_cannot_assert_a_spiffe_id() -> None:
    key = SigningKey.generate("ES256", kid="k8s-1")
    trust = ActorTrust(
        [ActorIssuer("https://k8s.acme.example", JwkSet([key.verification_key()]), JWT)]
    )
    token = svid(key=key, iss="https://k8s.acme.example")
    rejected(token, "not bound to a trust domain", trust=trust)


# --- negative: policy ----------------------------------------------------------------------


def test_actor_not_allowed_for_this_subject_is_rejected() -> None:
    rejected(svid(), "not allowed to act for this subject", subject="mallory")


def test_actor_not_allowed_for_this_client_is_rejected() -> None:
    rejected(svid(), "not allowed to act for this client", client_id="other-client")


def test_actor_without_any_rule_is_rejected() -> None:
    outside = "spiffe://acme.example/batch/nightly"
    rejected(svid(sub=outside), "no actor rule names this actor")


def test_partner_actor_is_validated_but_only_allowed_for_its_client() -> None:
    token = svid(key=PARTNER_KEY, iss=PARTNER_SPIRE, sub=PARTNER_AGENT)
    rejected(token, "not allowed to act for this client")
    assert decide(token, client_id="partner-app").actors == [PARTNER_AGENT]


def test_may_act_naming_another_party_is_rejected() -> None:
    rejected(svid(), "not the party named by may_act", subject_may_act={"sub": SUMMARIZER})
    rejected(svid(), "issuer is not the one", subject_may_act={"sub": TRIAGE, "iss": AGENTS})
    rejected(svid(), "may_act is malformed", subject_may_act="spiffe://acme.example/agent/triage")


# --- token confusion -----------------------------------------------------------------------


def test_jwt_svid_reused_as_subject_token_fails_id_token_verification() -> None:
    idp_key = SigningKey.generate("ES256", kid="idp-1")
    idp_keys = JwkSet([idp_key.verification_key()])
    with pytest.raises(InvalidRequest) as info:
        verify_id_token(svid(), keys=idp_keys, issuer=IDP, client_id=CLIENT, now=NOW)
    assert_rejected(info.value, "invalid_request", "no key for kid")
    # Even signed by the IdP itself with the IdP as iss, its aud is the IdP, not the client.
    same_signer = svid(key=idp_key, iss=IDP)
    with pytest.raises(InvalidRequest) as info:
        verify_id_token(same_signer, keys=idp_keys, issuer=IDP, client_id=CLIENT, now=NOW)
    assert_rejected(info.value, "invalid_request", "aud mismatch")


def test_id_token_presented_as_actor_token_is_rejected() -> None:
    """An ID token for the client, even from a trusted actor issuer, is not for the IdP."""
    id_token = svid(aud=CLIENT)
    rejected(id_token, "aud mismatch")


def test_bundle_without_jwt_svid_keys_cannot_be_configured() -> None:
    x509_only = {"keys": [{**SPIRE_KEY.public_jwk(), "use": "x509-svid"}]}
    with pytest.raises(ValueError, match="no usable keys"):
        ActorIssuer(SPIRE, jwt_svid_keys(x509_only), JWT, trust_domain="acme.example")


def test_token_bytes_never_reach_the_error() -> None:
    token = compact({"alg": "ES256", "kid": "spire-1"}, {"iss": SPIRE}, SPIRE_KEY)
    with pytest.raises(InvalidRequest) as info:
        decide(token)
    assert_rejected(info.value, "invalid_request", "claims missing", token)
