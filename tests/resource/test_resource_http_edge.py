"""The reference chat app's HTTP edge over real loopback HTTP (docs/resource.md, "HTTP edge"):
malformed, oversized, aborted and ambiguous requests are 4xx and quiet, never 500."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from reference_resource import Settings, create_app
from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.rawhttp import RawResponse, captured_logs, loud, raw_request, read_response
from tests.support.servers import free_port, serve
from xaa import basic_header, spec
from xaa.adapters.starlette import HTML_SECURITY_HEADERS

pytestmark = pytest.mark.e2e

FORM = "application/x-www-form-urlencoded"
MESSAGES = "/api/channels/general/messages"


@pytest.fixture(scope="module")
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


@pytest.fixture(scope="module")
def chat(idp: LoopbackIdp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    db = str(tmp_path_factory.mktemp("chat-edge") / "chat.db")
    with serve(
        create_app(
            Settings.make(
                port=port,
                db=db,
                trust_idps=[idp.issuer],
                idp_email_domains=[(idp.issuer, "acme.example")],
            )
        ),
        port,
    ) as base:
        yield base


@pytest.fixture(scope="module")
def bearer(chat: str, idp: LoopbackIdp) -> str:
    response = httpx.post(
        chat + "/token",
        data={"grant_type": spec.GRANT_JWT_BEARER, "assertion": idp.id_jag(chat, "wiki-at-chat")},
        auth=("wiki-at-chat", "wiki-chat-secret"),
    )
    assert response.status_code == 200, response.text
    return "Bearer " + str(response.json()["access_token"])


def _request(method: str, path: str, body: bytes, *headers: str, ctype: str = FORM) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: chat", f"Content-Type: {ctype}", *headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def _assert_oauth(response: RawResponse, status: int, error: str) -> None:
    assert response.status == status, response.body
    assert json.loads(response.body)["error"] == error
    assert response.header("cache-control") == "no-store"


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_basic_header_with_a_non_ascii_byte_is_invalid_client(chat: str, path: str) -> None:
    body = b"grant_type=authorization_code&code=c&code_verifier=v&token=t"
    with captured_logs() as logs:
        response = raw_request(chat, _request("POST", path, body, "Authorization: Basic \xe9=="))
    _assert_oauth(response, 401, "invalid_client")
    assert loud(logs) == []


def test_id_jag_with_a_deeply_nested_header_is_refused_before_client_auth(chat: str) -> None:
    nested = base64.urlsafe_b64encode(b"[" * 6000).rstrip(b"=")
    body = b"grant_type=" + spec.GRANT_JWT_BEARER.encode() + b"&assertion=" + nested + b".e30.AAAA"
    with captured_logs() as logs:
        response = raw_request(chat, _request("POST", "/token", body))
    _assert_oauth(response, 401, "invalid_client")
    assert loud(logs) == []


@pytest.mark.parametrize("path", ["/token", "/revoke"])
def test_repeated_authorization_header_is_invalid_request_at_token_endpoints(
    chat: str, path: str
) -> None:
    basic = basic_header("wiki-at-chat", "wiki-chat-secret")
    body = b"grant_type=authorization_code&code=c&code_verifier=v&token=t"
    request = _request("POST", path, body, f"Authorization: {basic}", "Authorization: Basic eA==")
    _assert_oauth(raw_request(chat, request), 400, "invalid_request")


def test_repeated_authorization_header_is_invalid_request_at_the_api(
    chat: str, bearer: str
) -> None:
    for second in (bearer, "Bearer x"):
        request = _request("GET", "/api/channels", b"", f"Authorization: {bearer}")
        request = request.replace(b"Host: chat", f"Host: chat\r\nAuthorization: {second}".encode())
        response = raw_request(chat, request)
        _assert_oauth(response, 400, "invalid_request")
        assert (response.header("www-authenticate") or "").startswith(
            'Bearer error="invalid_request"'
        )


def test_message_nested_deeply_is_invalid_request(chat: str, bearer: str) -> None:
    with captured_logs() as logs:
        for body in (b"[" * 30000, b'{"text":' * 5000):
            request = _request("POST", MESSAGES, body, f"Authorization: {bearer}", ctype="a/json")
            _assert_oauth(raw_request(chat, request), 400, "invalid_request")
    assert loud(logs) == []


def test_message_with_a_lone_surrogate_is_invalid_request(chat: str, bearer: str) -> None:
    with captured_logs() as logs:
        for text in ('"\\ud800"', '"ok \\udfff"', '"a\\ud83d"'):
            body = b'{"text":' + text.encode() + b"}"
            request = _request("POST", MESSAGES, body, f"Authorization: {bearer}", ctype="a/json")
            _assert_oauth(raw_request(chat, request), 400, "invalid_request")
    assert loud(logs) == []
    emoji = httpx.post(
        chat + MESSAGES, headers={"authorization": bearer}, json={"text": "\U0001f600"}
    )
    assert emoji.status_code == 201


def test_message_body_declared_over_the_cap_is_413_before_it_is_sent(
    chat: str, bearer: str
) -> None:
    head = _request("POST", MESSAGES, b"", f"Authorization: {bearer}", ctype="application/json")
    head = head.replace(b"Content-Length: 0", b"Content-Length: 104857600")
    _assert_oauth(raw_request(chat, head, timeout=5), 413, "invalid_request")


def test_message_body_streamed_over_the_cap_is_413(chat: str, bearer: str) -> None:
    head = f"POST {MESSAGES} HTTP/1.1\r\nHost: chat\r\nAuthorization: {bearer}\r\n"
    chunk = b'"' + b"a" * 16382 + b'"'
    sent = 0
    with socket.create_connection(("127.0.0.1", _port(chat)), 10) as sock:
        sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            while sent < 4 * 1024 * 1024:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # answered and closed: the server stopped reading
        response = read_response(sock)
    _assert_oauth(response, 413, "invalid_request")


def test_client_that_disconnects_mid_body_leaves_no_traceback(chat: str, bearer: str) -> None:
    with captured_logs() as logs:
        for path, auth in ((MESSAGES, f"Authorization: {bearer}"), ("/token", "X-A: 1")):
            request = _request("POST", path, b"", auth).replace(
                b"Content-Length: 0", b"Content-Length: 900"
            )
            with socket.create_connection(("127.0.0.1", _port(chat)), 5) as sock:
                sock.sendall(request + b'{"text":')
        time.sleep(0.3)
        assert httpx.get(chat + "/jwks.json").status_code == 200
    assert loud(logs) == []


def test_malformed_chunked_body_is_400_and_quiet(chat: str) -> None:
    with captured_logs() as logs:
        bad = b"GET /api/channels HTTP/1.1\r\nHost: chat\r\nTransfer-Encoding: chunked\r\n\r\n"
        response = raw_request(chat, bad + b"zz\r\nabc\r\n0\r\n\r\n")
        time.sleep(0.2)
    assert response.status == 400
    assert loud(logs) == []


def test_every_html_page_refuses_framing(chat: str) -> None:
    pages = [
        httpx.get(chat + "/authorize", params={"client_id": "nobody"}),
        httpx.post(chat + "/login", content=b"x=1", headers={"content-type": FORM}),
        httpx.post(chat + "/consent", content=b"x=1", headers={"content-type": FORM}),
    ]
    for page in pages:
        assert page.headers["content-type"].startswith("text/html"), page.status_code
        for name, value in HTML_SECURITY_HEADERS.items():
            assert page.headers[name] == value
