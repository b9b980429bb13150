"""The HTTP edge on both server stacks (docs/resource.md, "HTTP edge"): the quiet h11
protocol of the tests, and httptools + uvloop, what ``xaa idp serve`` and ``xaa resource
serve`` run on when installed (``xaa.adapters.serving.serve_app``). Malformed framing, a
client gone mid-body and garbage pipelined behind a request are 4xx or a closed
connection, never a warning or a traceback in the log."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_resource import Settings, create_app
from tests.support.rawhttp import captured_logs, loud, raw_request
from xaa.adapters.serving import free_port, serve_in_thread

pytestmark = pytest.mark.e2e

STACKS = [("h11", "asyncio"), ("httptools", "uvloop")]
TOKEN_HEAD = (
    b"POST /token HTTP/1.1\r\nHost: chat\r\nContent-Type: application/x-www-form-urlencoded\r\n"
)


@pytest.fixture(scope="module", params=STACKS, ids=["+".join(s) for s in STACKS])
def chat(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = str(Path(tmp_path_factory.mktemp("stack")) / "chat.db")
    app = create_app(Settings.make(port=port, db=db, trust_idps=["https://idp.example"]))
    with serve_in_thread(app, port=port, stack=request.param) as base:
        yield base


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _still_serving(base: str) -> None:
    assert httpx.get(base + "/jwks.json").status_code == 200


def test_malformed_chunk_framing_is_400_and_quiet(chat: str) -> None:
    with captured_logs() as logs:
        bad_size = raw_request(
            chat, TOKEN_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        )
        after_a_good_chunk = raw_request(
            chat, TOKEN_HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\ngrant\r\nzz\r\nxx\r\n"
        )
        both_lengths = raw_request(
            chat, TOKEN_HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        time.sleep(0.2)
    assert (bad_size.status, after_a_good_chunk.status, both_lengths.status) == (400, 400, 400)
    assert loud(logs) == []


def test_client_gone_mid_body_leaves_no_traceback(chat: str) -> None:
    with captured_logs() as logs:
        for framing in (
            b"Content-Length: 900\r\n\r\ngrant_type=",
            b"Transfer-Encoding: chunked\r\n\r\n5\r\ngrant\r\n",
        ):
            with socket.create_connection(("127.0.0.1", _port(chat)), 5) as sock:
                sock.sendall(TOKEN_HEAD + framing)
        time.sleep(0.3)
        _still_serving(chat)
    assert loud(logs) == []


def test_garbage_pipelined_behind_a_request_is_quiet(chat: str) -> None:
    requests = (
        b"GET /jwks.json HTTP/1.1\r\nHost: chat\r\n\r\n",
        TOKEN_HEAD + b"Content-Length: 5\r\n\r\nxx=yy",
    )
    with captured_logs() as logs:
        for request in requests * 5:
            with socket.create_connection(("127.0.0.1", _port(chat)), 5) as sock:
                sock.sendall(request + b"GARBAGE\x00 /\r\n\r\n")
                sock.settimeout(5)
                answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 ")
        time.sleep(0.2)
        _still_serving(chat)
    assert loud(logs) == []


def test_an_h2c_upgrade_request_is_served_without_a_warning(chat: str) -> None:
    """An ``Upgrade: h2c`` (curl sends it) is served over HTTP/1.1 (RFC 9110 §7.8: a server
    may ignore it); uvicorn's "Unsupported upgrade request." warning was one log line per
    request any client could cause."""
    upgrade = (
        b"GET /jwks.json HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
    )
    with captured_logs() as logs:
        with socket.create_connection(("127.0.0.1", _port(chat)), 5) as sock:
            sock.sendall(upgrade)
            sock.settimeout(5)
            answer = sock.recv(65536)
        time.sleep(0.2)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert loud(logs) == []
