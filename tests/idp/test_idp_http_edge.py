"""The reference IdP's HTTP edge over real loopback HTTP (docs/resource.md, "HTTP edge"): malformed,
oversized, aborted and ambiguous requests are 4xx and quiet, never 500 or a traceback."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_idp.app import create_app
from reference_idp.config import load_config
from reference_idp.demo import WIKI_REDIRECT
from reference_idp.store import Store
from tests.support.rawhttp import captured_logs, loud, raw_request, read_response
from tests.support.servers import free_port, serve
from xaa import ReplayStoreUnavailable, basic_header, pkce, spec
from xaa.adapters.starlette import HTML_SECURITY_HEADERS

pytestmark = pytest.mark.e2e

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    port = free_port()
    store = Store(":memory:")
    app = create_app(load_config().with_issuer(f"http://127.0.0.1:{port}"), store)
    with serve(app, port=port) as base:
        yield base
    store.close()


def _post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: idp", f"Content-Type: {FORM}", *headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def _assert_oauth(response: object, status: int, error: str) -> None:
    assert response.status == status
    assert json.loads(response.body)["error"] == error
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_basic_header_with_a_non_ascii_byte_is_invalid_client(idp: str, path: str) -> None:
    body = b"grant_type=authorization_code&code=c&code_verifier=v&token=t"
    with captured_logs() as logs:
        response = raw_request(idp, _post(path, body, "Authorization: Basic \xe9\xe9=="))
    _assert_oauth(response, 401, "invalid_client")
    assert loud(logs) == []


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_repeated_authorization_header_is_invalid_request_at_token_endpoints(
    idp: str, path: str
) -> None:
    basic = basic_header("wiki", "wiki-secret")
    body = b"grant_type=authorization_code&code=c&code_verifier=v&token=t"
    both = raw_request(idp, _post(path, body, f"Authorization: {basic}", "Authorization: Bearer x"))
    _assert_oauth(both, 400, "invalid_request")
    twice = raw_request(
        idp, _post(path, body, f"Authorization: {basic}", f"Authorization: {basic}")
    )
    _assert_oauth(twice, 400, "invalid_request")


def test_repeated_authorization_header_is_invalid_request_at_userinfo(idp: str) -> None:
    request = b"GET /userinfo HTTP/1.1\r\nHost: idp\r\nAuthorization: Bearer a\r\n"
    response = raw_request(idp, request + b"Authorization: Bearer b\r\nConnection: close\r\n\r\n")
    _assert_oauth(response, 400, "invalid_request")
    assert response.header("www-authenticate") == 'Bearer error="invalid_request"'


def test_body_declared_over_the_cap_is_413_before_it_is_sent(idp: str) -> None:
    head = _post("/token", b"").replace(b"Content-Length: 0", b"Content-Length: 104857600")
    response = raw_request(idp, head, timeout=5)  # no body follows: the server must not wait
    _assert_oauth(response, 413, "invalid_request")
    assert response.header("connection") == "close"


def test_chunked_body_over_the_cap_is_413(idp: str) -> None:
    chunk = b"a" * 16384
    head = f"POST /token HTTP/1.1\r\nHost: idp\r\nContent-Type: {FORM}\r\n"
    with socket.create_connection(("127.0.0.1", int(idp.rsplit(":", 1)[1])), 10) as sock:
        sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent < 2 * 1024 * 1024:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: it stopped reading
        response = read_response(sock)
    _assert_oauth(response, 413, "invalid_request")


def test_client_that_disconnects_mid_body_leaves_no_traceback(idp: str) -> None:
    with captured_logs() as logs:
        for path in ("/token", "/revoke", "/login"):
            request = _post(path, b"").replace(b"Content-Length: 0", b"Content-Length: 500")
            with socket.create_connection(("127.0.0.1", int(idp.rsplit(":", 1)[1])), 5) as sock:
                sock.sendall(request + b"grant_type=")
        time.sleep(0.3)
        httpx.get(idp + "/jwks")  # the server is still fine
    assert loud(logs) == []


def test_malformed_chunked_body_is_400_and_quiet(idp: str) -> None:
    with captured_logs() as logs:
        bad = b"GET /userinfo HTTP/1.1\r\nHost: idp\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        response = raw_request(idp, bad + b"abc\r\n0\r\n\r\n")
        time.sleep(0.2)
    assert response.status == 400
    assert loud(logs) == []


def test_every_html_page_refuses_framing(idp: str) -> None:
    verifier, challenge = pkce.new_pair()
    del verifier
    login_page = httpx.get(
        idp + "/authorize",
        params={
            "response_type": "code",
            "client_id": "wiki",
            "redirect_uri": WIKI_REDIRECT,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    error_page = httpx.get(idp + "/authorize", params={"client_id": "nobody"})
    login_error = httpx.post(
        idp + "/login", content=b"request_id=x", headers={"content-type": FORM}
    )
    for page in (login_page, error_page, login_error):
        assert page.headers["content-type"].startswith("text/html")
        for name, value in HTML_SECURITY_HEADERS.items():
            assert page.headers[name] == value
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert login_page.status_code == 200 and 'name="csrf_token"' in login_page.text


def _drop_replay_tables(path: Path) -> None:
    """Break the single-use table (whichever the IdP keeps) from another connection."""
    with sqlite3.connect(path) as other:
        tables = other.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        for (name,) in tables:
            if name in ("single_use", "xaa_replay"):
                other.execute(f"DROP TABLE {name}")


def test_replay_claim_on_a_broken_database_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "idp.db"
    store = Store(path)
    try:
        _drop_replay_tables(path)
        with pytest.raises(ReplayStoreUnavailable):
            store.claim(
                "ns", "iss", "jti", holder="h", expires_at=time.time() + 60, now=time.time()
            )
    finally:
        store.close()


def test_reference_idp_replay_store_is_single_use(tmp_path: Path) -> None:
    store = Store(tmp_path / "idp.db")
    now = time.time()
    try:
        assert store.claim("ns", "iss", "j", holder="a", expires_at=now + 60, now=now) is None
        assert store.claim("ns", "iss", "j", holder="b", expires_at=now + 60, now=now) == "a"
        assert store.claim("ns", "iss", "j", holder="b", expires_at=now + 90, now=now + 61) is None
    finally:
        store.close()


def test_library_read_body_turns_a_disconnect_into_invalid_request() -> None:
    """Without HttpEdge in front (a library user's app), a disconnect is still no traceback."""
    from starlette.requests import Request

    from xaa import InvalidRequest
    from xaa.adapters.starlette import read_body

    messages = [{"type": "http.request", "body": b"grant", "more_body": True}]
    messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(read_body(request))
    assert caught.value.detail == "client disconnected mid-body"


def test_replay_database_error_at_the_idp_token_endpoint_is_503(tmp_path: Path) -> None:
    """A private_key_jwt client assertion whose jti cannot be recorded: 503, never 500."""
    from xaa import SigningKey, make_client_assertion

    path = tmp_path / "idp.db"
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = load_config().with_issuer(issuer)
    store = Store(path)
    try:
        with serve(create_app(config, store), port=port):
            _drop_replay_tables(path)
            key = SigningKey.from_jwk(config.demo["agent_private_jwk"])
            assertion = make_client_assertion("agent", key, audience=issuer, now=time.time())
            with captured_logs() as logs:
                response = httpx.post(
                    issuer + "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": "c",
                        "code_verifier": "v" * 43,
                        "redirect_uri": WIKI_REDIRECT,
                        "client_assertion_type": spec.CLIENT_ASSERTION_TYPE_JWT_BEARER,
                        "client_assertion": assertion,
                    },
                )
    finally:
        store.close()
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["cache-control"] == "no-store"
    assert loud(logs) == []


def test_body_that_stops_arriving_is_408_instead_of_a_stall() -> None:
    """A client that declares a body and then goes quiet is answered, not waited on forever."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from xaa.adapters.starlette import HttpEdge, read_body

    async def echo_size(request: Request) -> Response:
        return Response(str(len(await read_body(request))))

    app = Starlette(
        routes=[Route("/t", echo_size, methods=["POST"])],
        middleware=[Middleware(HttpEdge, body_timeout=0.3)],
    )
    with serve(app) as base, captured_logs() as logs:
        begun = time.monotonic()
        slow = _post("/t", b"").replace(b"Content-Length: 0", b"Content-Length: 100")
        response = raw_request(base, slow + b"ten bytes.", timeout=5)
        waited = time.monotonic() - begun
        whole = raw_request(base, _post("/t", b"x" * 100))
    _assert_oauth(response, 408, "invalid_request")
    assert response.header("connection") == "close"
    assert waited < 3
    assert (whole.status, whole.body) == (200, b"100")
    assert loud(logs) == []
