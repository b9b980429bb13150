"""ConfigPolicy and the IdP metadata document."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.idp.idp_support import AS, POLICY
from xaa import spec
from xaa.idp import ConfigPolicy, IssuancePolicy, Subject, SubjectProfile, idp_metadata

ALICE = Subject(
    sub="alice",
    token_type=spec.TOKEN_TYPE_ID_TOKEN,
    profile=SubjectProfile(
        email="alice@acme.example", groups=frozenset({"eng"}), attributes={"chat_id": "U42"}
    ),
)


def _policy(**rs: Any) -> ConfigPolicy:
    return ConfigPolicy(
        {
            "resource_servers": [{"issuer": AS, **rs}],
            "grants": [{"client": "wiki", "audience": AS, "client_id": "w"}],
        }
    )


def test_pairwise_subject_differs_per_audience_and_is_stable() -> None:
    a = _policy(subject_type="pairwise", pairwise_salt="s1").map_subject(ALICE, "wiki", AS)
    b = _policy(subject_type="pairwise", pairwise_salt="s2").map_subject(ALICE, "wiki", AS)
    again = _policy(subject_type="pairwise", pairwise_salt="s1").map_subject(ALICE, "wiki", AS)
    assert a.sub != "alice" and a.sub != b.sub and a.sub == again.sub


def test_claims_are_included_only_where_configured() -> None:
    full = _policy(
        claims=["email", "aud_sub", "tenant", "aud_tenant"],
        aud_sub_attribute="chat_id",
        tenant="acme",
        aud_tenant="t-9",
    ).map_subject(ALICE, "wiki", AS)
    assert (full.email, full.aud_sub, full.tenant, full.aud_tenant) == (
        "alice@acme.example",
        "U42",
        "acme",
        "t-9",
    )
    bare = _policy(claims=[], aud_sub_attribute="chat_id", tenant="acme").map_subject(
        ALICE, "wiki", AS
    )
    assert (bare.sub, bare.email, bare.aud_sub, bare.tenant) == ("alice", None, None, None)


@pytest.mark.parametrize(
    "document",
    [
        {"resource_servers": [{"issuer": AS, "subject_type": "pairwise"}]},
        {"resource_servers": [{"issuer": AS, "aliases": [AS]}]},
        {"resource_servers": [{"issuer": AS}, {"issuer": "https://b", "aliases": [AS]}]},
        {"grants": [{"client": "wiki", "audience": AS, "client_id": "w"}]},
        {
            "resource_servers": [{"issuer": AS}],
            "grants": [{"client": "w", "audience": AS, "client_id": "x"}] * 2,
        },
        {
            "resource_servers": [{"issuer": AS, "resources": ["https://a"]}],
            "grants": [
                {"client": "w", "audience": AS, "client_id": "x", "resources": ["https://b"]}
            ],
        },
        {"resource_servers": [{"issuer": AS, "unknown_setting": 1}]},
    ],
    ids=[
        "pairwise-no-salt",
        "alias-is-issuer",
        "alias-twice",
        "unknown-as",
        "dup-grant",
        "resource-not-governed",
        "typo",
    ],
)
def test_inconsistent_policy_refuses_to_load(document: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        IssuancePolicy.model_validate(document)


def test_the_test_policy_loads() -> None:
    assert ConfigPolicy(POLICY).resolve_audience("urn:xaa:test:chat") == AS


@given(st.text(min_size=1, max_size=40))
def test_only_configured_names_resolve(name: str) -> None:
    policy = ConfigPolicy(POLICY)
    resolved = policy.resolve_audience(name)
    assert resolved is None or name in {
        AS,
        "urn:xaa:test:chat",
        "https://strict.example",
        "https://other.example",
    }


def test_metadata_advertises_id_jag_issuance_and_never_none() -> None:
    meta = idp_metadata(
        "https://idp.example",
        authorization_endpoint=True,
        userinfo_endpoint=True,
        revocation_endpoint=True,
        grant_types=[spec.GRANT_AUTHORIZATION_CODE, spec.GRANT_TOKEN_EXCHANGE],
        scopes=["openid", "email"],
        claims=["sub", "email"],
        dpop_algs=["ES256"],
    )
    doc = meta.to_json()
    assert meta.issues_id_jag and doc["issuer"] == "https://idp.example"
    assert spec.GRANT_TOKEN_EXCHANGE in doc["grant_types_supported"]
    assert doc["identity_chaining_requested_token_types_supported"] == [spec.TOKEN_TYPE_ID_JAG]
    assert "none" not in doc["token_endpoint_auth_methods_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["token_endpoint"] == "https://idp.example/token"
    assert doc["jwks_uri"] == "https://idp.example/jwks"
    assert doc["dpop_signing_alg_values_supported"] == ["ES256"]
    bare = idp_metadata("https://idp.example").to_json()
    assert "authorization_endpoint" not in bare and "userinfo_endpoint" not in bare


def test_decide_without_a_grant_is_invalid_target() -> None:
    from xaa import InvalidTarget
    from xaa.idp import GrantRequest

    request = GrantRequest("stranger", AS, ALICE, frozenset({"chat.read"}), (), None)
    with pytest.raises(InvalidTarget):
        ConfigPolicy(POLICY).decide(request)
