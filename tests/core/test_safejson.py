"""The one bounded JSON parser (RFC 8259 §9 limits, RFC 7515 §5.2 duplicates)."""

from __future__ import annotations

import pytest

from xaa import InvalidGrant, parse_compact
from xaa._keys import b64url
from xaa._safejson import MAX_JSON_DEPTH, JsonRejected, parse_json, parse_json_object


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_past_the_depth_cap_is_refused_without_recursion(opener: str) -> None:
    deep = opener * 100_000
    with pytest.raises(JsonRejected, match="deeper"):
        parse_json(deep)


def test_json_at_the_depth_cap_parses() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(text) is not None
    with pytest.raises(JsonRejected):
        parse_json("[" + text + "]")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '{"a":"' + "[{" * 500 + '\\"[[["}'
    assert parse_json_object(text) == {"a": "[{" * 500 + '"[[['}


@pytest.mark.parametrize(
    "text", ['{"t":"\\ud800"}', '["\\udfff"]', '{"\\udc00":1}', '"x\\ud83d"', '"\\ud800"']
)
def test_json_with_a_lone_surrogate_is_refused(text: str) -> None:
    with pytest.raises(JsonRejected, match="surrogate"):
        parse_json(text)


def test_json_with_a_surrogate_pair_parses() -> None:
    assert parse_json('"\\ud83d\\ude00"') == "\U0001f600"
    assert parse_json('"\\\\ud800"') == "\\ud800"  # an escaped backslash, not an escape


def test_json_str_with_a_raw_surrogate_is_refused() -> None:
    with pytest.raises(JsonRejected):
        parse_json('"\ud800"')


@pytest.mark.parametrize(
    "data", [b'{"a":1,"a":2}', b"[NaN]", b"\xff", b"{", b"", b"[1]" + b" " * 2000]
)
def test_json_malformed_duplicate_or_oversized_is_refused(data: bytes) -> None:
    with pytest.raises(JsonRejected):
        parse_json(data, max_bytes=1000)


def test_parse_json_object_wants_an_object() -> None:
    with pytest.raises(JsonRejected):
        parse_json_object(b"[]")


@pytest.mark.parametrize("segment", ["header", "payload"])
def test_jws_with_a_deeply_nested_segment_is_malformed(segment: str) -> None:
    nested = b64url(b"[" * 5000)
    plain = b64url(b'{"alg":"ES256"}')
    token = f"{nested}.{plain}.AAAA" if segment == "header" else f"{plain}.{nested}.AAAA"
    with pytest.raises(InvalidGrant) as caught:
        parse_compact(token, error=InvalidGrant)
    assert "deeper" in caught.value.detail
