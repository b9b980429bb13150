"""Properties of the core: round trips, tamper detection, time windows, forms."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xaa import (
    IdJagClaims,
    JwkSet,
    OAuthError,
    SigningKey,
    encode_form,
    issue_id_jag,
    parse_form,
    verify_id_jag,
)
from xaa._jose import b64url_decode
from xaa._keys import b64url

KEY = SigningKey.generate(kid="p")
KEYS = JwkSet([KEY.verification_key()])
IDP, AS, CLIENT, NOW = "https://idp.example", "https://as.example", "c1", 1_800_000_000

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
scope_token = st.text(string.ascii_letters + string.digits + ".:_-/", min_size=1, max_size=12)
uri = st.builds(lambda p: f"https://rs.example/{p}", st.text(string.ascii_lowercase, max_size=8))

claim_sets = st.fixed_dictionaries(
    {"sub": text, "jti": text, "lifetime": st.integers(1, 300), "age": st.integers(0, 29)},
    optional={
        "scope": st.lists(scope_token, min_size=1, max_size=5).map(" ".join),
        "resource": st.one_of(uri, st.lists(uri, min_size=1, max_size=3)),
        "email": text,
        "tenant": text,
        "aud_sub": text,
        "acr": text,
        "amr": st.lists(text, max_size=3),
        "auth_time": st.integers(0, NOW),
        "authorization_details": st.lists(
            st.fixed_dictionaries({"type": text, "actions": st.lists(text, max_size=2)}), max_size=2
        ),
    },
)


def claims_from(draw: dict[str, Any]) -> IdJagClaims:
    extra = {k: v for k, v in draw.items() if k not in {"sub", "jti", "lifetime", "age"}}
    issued = NOW - draw["age"]
    return IdJagClaims.model_validate(
        {
            "iss": IDP,
            "sub": draw["sub"],
            "aud": AS,
            "client_id": CLIENT,
            "jti": draw["jti"],
            "iat": issued,
            "exp": issued + draw["lifetime"],
            **extra,
        }
    )


def verify(token: str, now: float = NOW, leeway: int = 30) -> IdJagClaims:
    return verify_id_jag(
        token, keys=KEYS, issuer=IDP, audience=AS, client_id=CLIENT, now=now, leeway=leeway
    ).claims


@given(claim_sets)
def test_issue_then_verify_round_trips(draw: dict[str, Any]) -> None:
    claims = claims_from(draw)
    assert verify(issue_id_jag(claims, KEY)) == claims


VALID = issue_id_jag(claims_from({"sub": "alice", "jti": "j", "lifetime": 300, "age": 0}), KEY)


@settings(max_examples=300)
@given(st.integers(0, len(VALID) - 1), st.integers(1, 127))
def test_any_character_flipped_is_rejected_with_an_oauth_error(index: int, delta: int) -> None:
    flipped = chr((ord(VALID[index]) + delta) % 128)
    tampered = VALID[:index] + flipped + VALID[index + 1 :]
    try:
        verify(tampered)
    except OAuthError:
        return
    raise AssertionError("tampered token accepted")


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_oauth_errors(data: bytes) -> None:
    try:
        verify(data.decode("latin-1"))
    except OAuthError:
        return
    raise AssertionError("garbage accepted")


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["iss", "sub", "aud", "client_id", "jti", "exp", "iat", "scope"]),
    st.one_of(st.integers(), text, st.none(), st.lists(text, max_size=2), st.booleans()),
)
def test_any_claim_changed_after_signing_is_rejected(name: str, value: Any) -> None:
    import json

    header, payload, sig = VALID.split(".")
    claims = json.loads(b64url_decode(payload))
    assume(claims.get(name) != value)
    claims[name] = value
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{sig}"
    try:
        verify(tampered)
    except OAuthError:
        return
    raise AssertionError("changed claim accepted")


@given(st.integers(0, 120), st.integers(1, 300))
def test_exp_boundary_is_exact(leeway: int, lifetime: int) -> None:
    claims = claims_from({"sub": "a", "jti": "j", "lifetime": lifetime, "age": 0})
    token = issue_id_jag(claims, KEY)
    assert verify(token, now=claims.exp + leeway - 1, leeway=leeway) == claims
    try:
        verify(token, now=claims.exp + leeway, leeway=leeway)
    except OAuthError as exc:
        assert exc.detail == "expired"
    else:
        raise AssertionError("accepted at exp + leeway")


@given(st.integers(0, 120), st.integers(1, 1000))
def test_iat_in_the_future_boundary_is_exact(leeway: int, ahead: int) -> None:
    issued = NOW + ahead
    claims = IdJagClaims.model_validate(
        {
            "iss": IDP,
            "sub": "a",
            "aud": AS,
            "client_id": CLIENT,
            "jti": "j",
            "iat": issued,
            "exp": issued + 60,
        }
    )
    token = issue_id_jag(claims, KEY)
    if ahead <= leeway:
        assert verify(token, leeway=leeway) == claims
    else:
        try:
            verify(token, leeway=leeway)
        except OAuthError as exc:
            assert exc.detail == "iat in the future"
        else:
            raise AssertionError("future iat accepted")


form_names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=12)
form_values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)


@given(st.dictionaries(form_names, form_values, max_size=10))
def test_form_round_trip(params: dict[str, str]) -> None:
    assume("resource" not in params)
    assert dict(parse_form(encode_form(params))) == params


@given(st.lists(form_values, min_size=1, max_size=5))
def test_repeatable_resource_round_trip(values: list[str]) -> None:
    assert parse_form(encode_form({"resource": values})).all("resource") == values


@given(st.binary(max_size=64))
def test_b64url_round_trip_is_canonical(data: bytes) -> None:
    assert b64url_decode(b64url(data)) == data
