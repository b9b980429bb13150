"""RFC 9449 §4.3 item 9: htu compared after normalisation, path exactly (properties too)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.dpop.dpop_support import forge, rejected
from xaa.dpop import normalize_htu, verify_proof
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000
EXPECTED = "https://as.example/token"


@pytest.mark.parametrize(
    "spelling",
    [
        "https://as.example/token",
        "HTTPS://AS.EXAMPLE/token",
        "https://As.Example/token",
        "https://as.example:443/token",
        "https://as.example:0443/token",
        "https://as.example:/token",
        "https://as.example/token?",
        "https://as.example/token?a=1&b=2",
        "https://as.example/token#frag",
        "https://as.example/token?a=1#frag",
    ],
)
def test_equivalent_spellings_match(spelling: str) -> None:
    assert normalize_htu(spelling) == EXPECTED
    proof = forge(payload={"htu": spelling})
    result = verify_proof(proof, htm="POST", htu=EXPECTED, replay=MemoryReplayStore(), now=NOW)
    assert result.htu == spelling


@pytest.mark.parametrize(
    "spelling",
    [
        "https://as.example/Token",
        "https://as.example/token/",
        "https://as.example//token",
        "https://as.example/./token",
        "https://as.example/x/../token",
        "https://as.example/%74oken",
        "https://as.example:80/token",
        "https://as.example:8443/token",
        "http://as.example/token",
        "http://as.example:443/token",
        "https://as.example./token",
        "https://as.example.evil/token",
        "https://evil.example/token",
    ],
)
def test_different_uris_do_not_match(spelling: str) -> None:
    assert rejected(forge(payload={"htu": spelling}), htu=EXPECTED).detail == "htu mismatch"


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        "/token",
        "as.example/token",
        "ftp://as.example/token",
        "https://user@as.example/token",
        "https://user:pw@as.example/token",
        "https:///token",
        "https://as.example:99999/token",
        "https://as.example:44a/token",
        "https://as.example:-1/token",
        "https://as example/token",
        "https://as.example/to ken",
        "https://as.example/to\tken",
        "https://as.example/to\nken",
        " https://as.example/token",
        "https://as.éxample/token",
        "https://[::1/token",
        "https://[::1]x/token",
        "https://as.example%2f/token",
        "https://as.example;/token",
    ],
)
def test_not_an_http_uri(spelling: str) -> None:
    with pytest.raises(ValueError):
        normalize_htu(spelling)
    if spelling:
        assert rejected(forge(payload={"htu": spelling})).detail == "htu is not an http(s) URI"


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("https://rs.example", "https://rs.example/"),
        ("http://localhost:80/x", "http://localhost/x"),
        ("http://127.0.0.1:8080/x?y", "http://127.0.0.1:8080/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("HTTP://[::A]:8080/x", "http://[::a]:8080/x"),
        ("https://rs.example/a%2fb", "https://rs.example/a%2fb"),
    ],
)
def test_normal_forms(spelling: str, normal: str) -> None:
    assert normalize_htu(spelling) == normal


_host = st.sampled_from(["as.example", "AS.Example", "127.0.0.1", "[::1]", "[FE80::1]", "a-b.c"])
_port = st.one_of(st.just(""), st.just(":"), st.integers(0, 65535).map(lambda p: f":{p}"))
_path = st.text(alphabet=st.sampled_from("abcXYZ019/-._~%!$&'()*+,;=:@"), max_size=20)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "HttpS"]),
    host=_host,
    port=_port,
    path=_path,
    query=st.sampled_from(["", "?", "?a=b", "#f", "?a#b"]),
)
def test_normalisation_is_idempotent(
    scheme: str, host: str, port: str, path: str, query: str
) -> None:
    uri = f"{scheme}://{host}{port}{'/' if path else ''}{path}{query}"
    once = normalize_htu(uri)
    assert normalize_htu(once) == once
    assert "?" not in once and "#" not in once


@given(st.text(max_size=60))
def test_normalisation_of_any_text_is_idempotent_or_value_error(text: str) -> None:
    try:
        once = normalize_htu(text)
    except ValueError:
        return
    assert normalize_htu(once) == once
