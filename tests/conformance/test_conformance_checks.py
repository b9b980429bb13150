"""The checks every answer goes through, and the forging helpers of the negative cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xaa import InvalidGrant, SigningKey, parse_compact
from xaa.conformance import CaseFailed, ClientCredentials, TestIdp
from xaa.conformance._checks import (
    Answer,
    expect_basic_challenge,
    expect_error,
    expect_issuer,
    expect_listed,
    expect_public_jwks,
    expect_token,
    jwks_problems,
    metadata_url,
)
from xaa.conformance._credentials import wrong_basic
from xaa.conformance._forge import DROP, compact, der_ecdsa, hmac_compact, merge

NO_STORE = {"cache-control": "no-store", "content-type": "application/json"}
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZS1jb25mb3JtYW5jZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, headers if headers is not None else NO_STORE, json.dumps(body).encode())


def test_a_correct_rejection_passes() -> None:
    expect_error(answer(400, {"error": "invalid_grant"}), error="invalid_grant", secrets=[TOKEN])


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (answer(200, {"access_token": "x", "token_type": "Bearer"}), "accepted"),
        (answer(400, {"error": "invalid_grant", "access_token": "x"}), "accepted"),
        (answer(500, {"error": "server_error"}), "server error"),
        (Answer(400, NO_STORE, b"<html>"), "not a JSON object"),
        (answer(400, {"error": "invalid_request"}), "expected HTTP 400 invalid_grant"),
        (answer(401, {"error": "invalid_grant"}), "expected HTTP 400 invalid_grant"),
        (answer(400, {"error": "invalid_grant", "refresh_token": "r"}), "refresh token"),
        (answer(400, {"error": "invalid_grant"}, {}), "no-store"),
        (answer(400, {"error": "invalid_grant", "error_description": TOKEN}), "echoes"),
        (
            answer(400, {"error": "invalid_grant", "detail": TOKEN.split(".")[2]}),
            "echoes",
        ),
    ],
)
def test_each_defect_of_a_rejection_is_named(response: Answer, message: str) -> None:
    with pytest.raises(CaseFailed, match=message):
        expect_error(response, error="invalid_grant", secrets=[TOKEN])


def test_several_acceptable_codes_and_statuses() -> None:
    expect_error(
        answer(401, {"error": "invalid_client"}),
        error=("invalid_client", "invalid_request"),
        status=(400, 401),
    )


def test_expect_token() -> None:
    body = expect_token(answer(200, {"access_token": "a", "token_type": "Bearer"}))
    assert body["access_token"] == "a"
    with pytest.raises(CaseFailed, match="no-store"):
        expect_token(answer(200, {"access_token": "a", "token_type": "Bearer"}, {}))
    with pytest.raises(CaseFailed, match="without access_token"):
        expect_token(answer(200, {"token_type": "Bearer"}))


def test_jwks_problems() -> None:
    good = SigningKey.generate().public_jwk()
    assert jwks_problems({"keys": [good]}) == []
    assert jwks_problems({"keys": [good, good]}) == ["duplicate kid"]
    assert "a symmetric key" in jwks_problems({"keys": [{"kty": "oct", "k": "AAAA"}]})
    private = SigningKey.generate().private_jwk()
    assert jwks_problems({"keys": [private]}) == ["private members ['d']"]
    assert jwks_problems({}) == ["no keys array"]


def test_metadata_url_inserts_the_well_known_path() -> None:
    assert metadata_url("https://as.example") == (
        "https://as.example/.well-known/oauth-authorization-server"
    )
    assert metadata_url("https://as.example/tenant/") == (
        "https://as.example/.well-known/oauth-authorization-server/tenant"
    )


def test_forged_tokens_carry_exactly_the_header_given() -> None:
    key = SigningKey.generate(kid="k1")
    token = compact(merge({"typ": "x", "alg": "ES256", "kid": "k1"}, {"typ": DROP}), {"a": 1}, key)
    parsed = parse_compact(token, error=InvalidGrant)
    assert parsed.header == {"alg": "ES256", "kid": "k1"}
    assert key.verification_key().verify(parsed.signing_input, parsed.signature)
    hs = parse_compact(hmac_compact({"alg": "HS256"}, {"a": 1}, b"secret"), error=InvalidGrant)
    assert len(hs.signature) == 32


@given(st.binary(min_size=64, max_size=64))
def test_der_ecdsa_is_a_sequence_of_two_integers(raw: bytes) -> None:
    der = der_ecdsa(raw)
    assert der[0] == 0x30 and der[1] == len(der) - 2
    first_len = der[3]
    assert der[2] == 0x02 and der[4 + first_len] == 0x02
    r = int.from_bytes(der[4 : 4 + first_len], "big")
    s = int.from_bytes(der[6 + first_len :], "big")
    assert (r, s) == (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def test_the_test_idp_keeps_its_keys_in_a_keys_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = TestIdp("http://127.0.0.1:9401", keys_file=path)
    second = TestIdp("http://127.0.0.1:9401", keys_file=path)
    assert first.key.public_jwk() == second.key.public_jwk()
    assert first.eddsa_key.kid == second.eddsa_key.kid
    assert path.stat().st_mode & 0o777 == 0o600
    assert TestIdp("http://127.0.0.1:9401").key.kid != first.key.kid


def test_the_test_idp_publishes_public_keys_only() -> None:
    idp = TestIdp("http://127.0.0.1:9401")
    plain = TestIdp("http://127.0.0.1:9401", extra_keys=False)
    assert jwks_problems(plain.jwks()) == [] and len(plain.jwks()["keys"]) == 2
    # The extra keys are deliberately wrong (xaa/conformance/_resource_as/key_confusion.py):
    # a symmetric key (its secret is public once published) and a kid shared by two keys.
    assert jwks_problems(idp.jwks()) == [
        "duplicate kid",
        "a symmetric key",
        "private members ['k']",
    ]
    asymmetric = [k for k in idp.jwks()["keys"] if k["kty"] != "oct"]
    assert jwks_problems({"keys": asymmetric}) == ["duplicate kid"]
    assert idp.attacker_key.kid not in {k.get("kid") for k in idp.jwks()["keys"]}
    assert idp.metadata()["jwks_uri"] == "http://127.0.0.1:9401/jwks.json"


def test_answer_nested_too_deep_is_not_json_rather_than_a_crash() -> None:
    hostile = Answer(500, {}, b"[" * 100_000)
    assert hostile.json() is None
    with pytest.raises(CaseFailed):
        expect_error(hostile, error="invalid_grant")


def test_metadata_checks_name_the_member_that_is_wrong() -> None:
    metadata = {"issuer": "https://idp.example", "grant_types_supported": ["authorization_code"]}
    expect_issuer(metadata, "https://idp.example")
    with pytest.raises(CaseFailed, match="not the issuer identifier"):
        expect_issuer(metadata, "https://idp.example/")
    expect_listed(metadata, "grant_types_supported", "authorization_code", "code")
    with pytest.raises(CaseFailed, match="grant_types_supported lacks token-exchange"):
        expect_listed(metadata, "grant_types_supported", "token-exchange", "token-exchange")
    with pytest.raises(CaseFailed, match="scopes_supported lacks openid"):
        expect_listed({"scopes_supported": "openid"}, "scopes_supported", "openid", "openid")


def test_a_basic_challenge_is_required_after_basic() -> None:
    refused = {"error": "invalid_client"}
    expect_basic_challenge(answer(401, refused, {**NO_STORE, "www-authenticate": "Basic"}))
    with pytest.raises(CaseFailed, match="without a Basic WWW-Authenticate"):
        expect_basic_challenge(answer(401, refused, {**NO_STORE, "www-authenticate": "Bearer"}))


def test_public_jwks_check_fails_with_the_problems() -> None:
    expect_public_jwks(TestIdp("http://127.0.0.1:9401", extra_keys=False).jwks())
    with pytest.raises(CaseFailed, match="JWKS: no keys array"):
        expect_public_jwks({})


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_two_client_authentication_methods_are_sent_together(method: str) -> None:
    form: dict[str, str | list[str]] = {}
    credentials = ClientCredentials("app", auth_method=method, secret="s3cret")
    headers = credentials.apply_two_methods(form, "https://as.example")
    assert form["client_id"] == "app" and "client_secret" in form
    assert headers["authorization"].startswith("Basic ")
    assert wrong_basic("app")["authorization"] != wrong_basic("app")["authorization"]
