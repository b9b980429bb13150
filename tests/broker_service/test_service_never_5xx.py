"""``POST /v1/token`` never answers 5xx to bad input: random bodies, media types, credentials
and JSON shapes are each refused with a typed 4xx and ``no-store`` (hypothesis)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from reference_broker.app import create_app
from reference_broker.config import load_config
from reference_broker.config_check import template_text
from xaa.adapters.broker import Keyring


@cache
def client(tmp: str) -> TestClient:
    path = Path(tmp) / "broker.toml"
    path.write_text(template_text().replace('db = "xaa-broker.sqlite3"', f'db = "{tmp}/b.db"'))
    return TestClient(create_app(load_config(path), keyring=Keyring.generate()))


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("fuzz"))


_names = st.sampled_from(
    ["person", "app", "scopes", "actor_token", "client_assertion", "client_assertion_type", "x"]
)
_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=5),
    max_leaves=12,
)
_ascii = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


def _check(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["cache-control"] == "no-store"
    assert isinstance(response.json()["error"], str)


@given(
    body=st.binary(max_size=300),
    media=st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8"]),
    auth=st.none() | _ascii.map(lambda t: "Bearer " + t),
)
@settings(max_examples=120, deadline=None)
def test_random_bytes_get_a_typed_4xx(tmp: str, body: bytes, media: str, auth: str | None) -> None:
    headers = {"content-type": media, **({"authorization": auth} if auth else {})}
    _check(client(tmp).post("/v1/token", content=body, headers=headers))


@given(value=_json, auth=st.none() | _ascii.map(lambda t: "Bearer " + t))
@settings(max_examples=120, deadline=None)
def test_random_json_gets_a_typed_4xx(tmp: str, value: Any, auth: str | None) -> None:
    headers = {"content-type": "application/json", **({"authorization": auth} if auth else {})}
    _check(client(tmp).post("/v1/token", content=json.dumps(value).encode(), headers=headers))


def test_unreachable_idp_is_a_page_not_a_500(tmp_path: Path) -> None:
    from tests.support.servers import free_port

    nowhere = f"http://127.0.0.1:{free_port()}"
    path = tmp_path / "broker.toml"
    text = template_text().replace("http://127.0.0.1:9400", nowhere)
    path.write_text(text.replace('db = "xaa-broker.sqlite3"', f'db = "{tmp_path}/b.db"'))
    with TestClient(create_app(load_config(path), keyring=Keyring.generate())) as service:
        answer = service.get("/login", follow_redirects=False)
    assert answer.status_code == 502
    assert "The sign-in service cannot be reached." in answer.text
    assert answer.headers["cache-control"] == "no-store"


def test_streamed_body_over_the_edge_cap_is_413_not_a_502_upstream_error(
    tmp: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the catch-all around the token request caught the HTTP edge's cap signal
    (raised from ``receive``): 502 ``upstream_error`` and a traceback in the log."""
    chunks = iter([b'{"person":"' + b"A" * 65536] * 40)  # no Content-Length: chunked
    answer = client(tmp).post(
        "/v1/token", content=chunks, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json()["error"] == "invalid_request"
    assert answer.headers["cache-control"] == "no-store"
    assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
