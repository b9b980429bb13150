"""Draft §8.6: AS binding decision; RFC 9449 §7: RS scheme rules; client downgrade checks."""

from __future__ import annotations

import json

import pytest

from tests.dpop.dpop_support import ES_KEY, OTHER_KEY
from xaa import InvalidDpopProof, InvalidToken, OAuthError, ProtocolViolation
from xaa.dpop import (
    AuthorizationCredentials,
    bind_decision,
    check_cnf_binding,
    check_dpop_token_type,
    check_token_binding,
    parse_authorization,
    resource_error_response,
    www_authenticate_dpop,
)

JKT = ES_KEY.jkt


def assert_invalid_grant(exc: OAuthError, description: str | None = None) -> None:
    response = exc.to_response()
    body = json.loads(response.body)
    assert (response.status, body["error"]) == (400, "invalid_grant")
    assert response.headers["cache-control"] == "no-store"
    if description is not None:
        assert body["error_description"] == description


# --- draft §8.6.1.2 ----------------------------------------------------------------


@pytest.mark.parametrize("requires", [False, True])
def test_cnf_and_matching_proof_binds_to_that_key(requires: bool) -> None:
    assert bind_decision(JKT, JKT, requires) == JKT


@pytest.mark.parametrize("requires", [False, True])
def test_cnf_and_proof_of_another_key_is_invalid_grant(requires: bool) -> None:
    with pytest.raises(OAuthError) as info:
        bind_decision(JKT, OTHER_KEY.jkt, requires)
    assert_invalid_grant(info.value)
    assert info.value.detail == "cnf.jkt does not match the DPoP proof key"


@pytest.mark.parametrize("requires", [False, True])
def test_cnf_without_proof_is_invalid_grant(requires: bool) -> None:
    with pytest.raises(OAuthError) as info:
        bind_decision(JKT, None, requires)
    assert_invalid_grant(info.value, "Proof of possession required for this authorization grant.")


@pytest.mark.parametrize("requires", [False, True])
def test_proof_without_cnf_binds_to_the_proof_key(requires: bool) -> None:
    assert bind_decision(None, JKT, requires) == JKT


def test_neither_gives_a_bearer_token_when_allowed() -> None:
    assert bind_decision(None, None, False) is None


def test_neither_is_invalid_grant_when_the_resource_requires_dpop() -> None:
    with pytest.raises(OAuthError) as info:
        bind_decision(None, None, True)
    assert_invalid_grant(info.value, "Sender-constrained tokens required for this resource server.")


# --- RFC 9449 §7.1 / RFC 6750 §2.1 Authorization header ------------------------


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("Bearer abc.def-_~+/=", "Bearer"),
        ("bearer abc", "Bearer"),
        ("DPoP abc==", "DPoP"),
        ("dpop  abc", "DPoP"),
        ("DPOP abc", "DPoP"),
    ],
)
def test_authorization_schemes(value: str, scheme: str) -> None:
    creds = parse_authorization([value])
    assert creds is not None
    assert creds.scheme == scheme
    assert creds.token == value.split()[-1]
    assert creds.token not in repr(creds)


@pytest.mark.parametrize("values", [[], ["Basic dXNlcjpwdw=="], ["Negotiate x"], ["Bearer"]])
def test_no_usable_credentials(values: list[str]) -> None:
    if values == ["Bearer"]:
        with pytest.raises(OAuthError) as info:
            parse_authorization(values)
        assert info.value.error == "invalid_request"
    else:
        assert parse_authorization(values) is None


@pytest.mark.parametrize(
    "values",
    [
        ["DPoP a", "DPoP b"],
        ["DPoP"],
        ["DPoP "],
        ["DPoP a b"],
        ["DPoP a,b"],
        ["DPoP a=b"],
        ["DPoP é"],
    ],
)
def test_malformed_or_repeated_authorization_is_invalid_request(values: list[str]) -> None:
    with pytest.raises(OAuthError) as info:
        parse_authorization(values)
    assert (info.value.error, info.value.status) == ("invalid_request", 400)


# --- RFC 9449 §7.1, §7.2: token binding at the RS ---------------------------------


def test_dpop_bound_token_sent_as_bearer_is_invalid_token() -> None:
    with pytest.raises(InvalidToken) as info:
        check_token_binding("Bearer", JKT, None)
    assert info.value.detail == "DPoP-bound token sent with the Bearer scheme"
    response = resource_error_response(info.value)
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_unbound_token_as_bearer_is_fine() -> None:
    check_token_binding("Bearer", None, None)


def test_unbound_token_with_the_dpop_scheme_is_invalid_token() -> None:
    with pytest.raises(InvalidToken):
        check_token_binding("DPoP", None, JKT)


def test_dpop_scheme_without_a_proof_is_invalid_dpop_proof() -> None:
    with pytest.raises(InvalidDpopProof):
        check_token_binding("DPoP", JKT, None)


def test_proof_key_other_than_cnf_is_invalid_dpop_proof_401() -> None:
    with pytest.raises(InvalidDpopProof) as info:
        check_token_binding("DPoP", JKT, OTHER_KEY.jkt)
    response = resource_error_response(info.value, algs=("ES256", "EdDSA"))
    assert response.status == 401
    assert response.headers["www-authenticate"] == (
        'DPoP error="invalid_dpop_proof", error_description="The DPoP proof is invalid.", '
        'algs="ES256 EdDSA"'
    )
    assert json.loads(response.body)["error"] == "invalid_dpop_proof"
    assert response.headers["cache-control"] == "no-store"


def test_matching_proof_key_is_fine() -> None:
    check_token_binding("DPoP", JKT, JKT)


# --- WWW-Authenticate ---------------------------------------------------------------


def test_bare_challenge_lists_algs() -> None:
    assert www_authenticate_dpop(algs=("ES256",)) == 'DPoP algs="ES256"'


def test_challenge_params_are_quoted_and_escaped() -> None:
    value = www_authenticate_dpop(
        algs=("ES256",),
        error="insufficient_scope",
        params={"scope": 'a "b"\\', "resource_metadata": "https://rs.example/.well-known/x"},
    )
    assert value == (
        'DPoP error="insufficient_scope", scope="a \\"b\\"\\\\", '
        'resource_metadata="https://rs.example/.well-known/x", algs="ES256"'
    )


def test_resource_error_keeps_403_and_400_and_5xx() -> None:
    from xaa import InsufficientScope, InvalidRequest, TemporarilyUnavailable

    assert resource_error_response(InsufficientScope()).status == 403
    assert resource_error_response(InvalidRequest()).status == 400
    unavailable = resource_error_response(TemporarilyUnavailable())
    assert unavailable.status == 503
    assert "www-authenticate" not in unavailable.headers


# --- client: draft §8.6.1.1 item 3 and RFC 9449 §5 downgrade detection ---------------


def test_id_jag_bound_to_our_key_passes() -> None:
    check_cnf_binding({"jkt": JKT}, ES_KEY)


@pytest.mark.parametrize("cnf", [None, {}, {"jkt": OTHER_KEY.jkt}, {"jwk": {}}, JKT, [JKT]])
def test_id_jag_not_bound_to_our_key_is_a_downgrade(cnf: object) -> None:
    with pytest.raises(ProtocolViolation) as info:
        check_cnf_binding(cnf, ES_KEY)
    assert info.value.rule == "dpop-downgrade"


@pytest.mark.parametrize("token_type", ["DPoP", "dpop", "DPOP"])
def test_dpop_token_type_passes(token_type: str) -> None:
    check_dpop_token_type(token_type)


@pytest.mark.parametrize("token_type", ["Bearer", "N_A", None, "", 1])
def test_bearer_token_when_dpop_was_required_is_a_downgrade(token_type: object) -> None:
    with pytest.raises(ProtocolViolation) as info:
        check_dpop_token_type(token_type)
    assert info.value.rule == "dpop-downgrade"


def test_credentials_dataclass_is_frozen() -> None:
    creds = AuthorizationCredentials("DPoP", "t")
    with pytest.raises(AttributeError):
        creds.token = "u"  # type: ignore[misc]
