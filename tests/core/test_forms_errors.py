"""Forms (RFC 6749 §3.1-3.3), Basic credentials (§2.3.1) and error rendering (§5.2)."""

from __future__ import annotations

import base64
import json

import pytest

from xaa import (
    InsufficientUserAuthentication,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    ProtocolViolation,
    RemoteOAuthError,
    TemporarilyUnavailable,
    encode_form,
    error_from_response,
    format_scope,
    parse_form,
    parse_scope,
)
from xaa._errors import ERRORS_BY_CODE
from xaa._forms import MAX_FORM_BYTES, basic_credentials, basic_header, form_unquote


def test_parse_form_single_values() -> None:
    form = parse_form(b"grant_type=x&assertion=a.b.c&scope=a+b")
    assert dict(form) == {"grant_type": "x", "assertion": "a.b.c", "scope": "a b"}
    assert "hunter2" not in repr(parse_form(b"client_secret=hunter2"))


@pytest.mark.parametrize("body", [b"a=1&a=2", b"a=1&a=", b"a=&a=1", b"grant_type=x&grant_type=x"])
def test_repeated_parameter_is_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="repeated"):
        parse_form(body)


def test_resource_may_repeat() -> None:
    form = parse_form(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb")
    assert form.all("resource") == ["https://a", "https://b"]
    assert form["resource"] == "https://a"


def test_empty_value_is_omitted() -> None:
    assert "scope" not in parse_form(b"scope=&grant_type=x")


@pytest.mark.parametrize("body", [b"a=%ff", "é=1".encode(), b"x" * (MAX_FORM_BYTES + 1)])
def test_malformed_form(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_form(body)


def test_too_many_fields() -> None:
    with pytest.raises(InvalidRequest):
        parse_form("&".join(f"f{i}=1" for i in range(100)))


def test_encode_form_round_trip() -> None:
    body = encode_form({"a": "x y&z", "resource": ["r1", "r2"], "skip": None})
    form = parse_form(body)
    assert form["a"] == "x y&z" and form.all("resource") == ["r1", "r2"] and "skip" not in form


def test_scope_parse_and_format() -> None:
    assert parse_scope("b a") == {"a", "b"}
    assert parse_scope(None) == frozenset() and parse_scope("") == frozenset()
    assert format_scope({"b", "a"}) == "a b"


@pytest.mark.parametrize("scope", ["a  b", " a", "a ", 'a"b', "a\\b", "a\tb", "é"])
def test_malformed_scope(scope: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(scope)
    with pytest.raises(InvalidRequest):
        parse_scope(scope, error=InvalidRequest)


def test_basic_round_trip_with_reserved_characters() -> None:
    header = basic_header("client:1", "s3cr%t+/ é")
    raw_id, raw_secret = basic_credentials(header)
    assert (form_unquote(raw_id), form_unquote(raw_secret)) == ("client:1", "s3cr%t+/ é")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic " + base64.b64encode(b"\xff:x").decode(),
    ],
)
def test_basic_malformed(header: str) -> None:
    with pytest.raises(InvalidClient):
        basic_credentials(header)


@pytest.mark.parametrize("header", ["Basic \xe9\xe9", "Basic d2lraT\xff", "Basic \u00e9Zm9v"])
def test_basic_with_a_non_ascii_byte_is_invalid_client(header: str) -> None:
    """Starlette decodes header bytes as Latin-1: a byte over 0x7f must not escape b64decode."""
    with pytest.raises(InvalidClient) as caught:
        basic_credentials(header)
    assert caught.value.detail == "Basic credentials malformed"


def test_error_rendering_is_rfc6749_json_no_store() -> None:
    err = InsufficientUserAuthentication(detail="acr below policy", extra={"max_age": 5})
    status, headers, body = err.to_response()
    assert status == 400
    assert headers["cache-control"] == "no-store" and headers["pragma"] == "no-cache"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "error": "insufficient_user_authentication",
        "error_description": "The subject does not meet the authentication requirements.",
        "max_age": 5,
    }
    assert "acr below policy" not in body.decode()


def test_statuses() -> None:
    assert InvalidClient().status == 401
    assert TemporarilyUnavailable().status == 503
    assert all(400 <= cls.status < 600 for cls in ERRORS_BY_CODE.values())
    assert all(
        cls.status < 500
        for code, cls in ERRORS_BY_CODE.items()
        if code not in {"temporarily_unavailable", "server_error"}
    )


def test_invalid_client_with_basic_challenge() -> None:
    err = InvalidClient(headers={"WWW-Authenticate": 'Basic realm="token"'})
    assert err.to_response().headers["www-authenticate"] == 'Basic realm="token"'


def test_error_from_response_maps_known_codes() -> None:
    err = error_from_response(
        400, {"error": "invalid_scope", "error_description": "no", "scope": "a"}
    )
    assert isinstance(err, InvalidScope) and err.description == "no" and err.extra == {"scope": "a"}


def test_error_from_response_keeps_unknown_codes() -> None:
    err = error_from_response(418, {"error": "teapot"})
    assert isinstance(err, RemoteOAuthError) and err.error == "teapot" and err.status == 418


@pytest.mark.parametrize("body", [{}, {"error": 1}, {"error": ""}])
def test_error_from_response_needs_a_code(body: dict[str, object]) -> None:
    with pytest.raises(ProtocolViolation):
        error_from_response(400, body)
