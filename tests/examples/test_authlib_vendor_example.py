"""examples/authlib_vendor end to end: the reference IdP on a free port -> ID-JAG -> the
vendor's authlib token endpoint with xaa's grant registered (werkzeug on loopback) -> a route
behind authlib's ResourceProtector; a replayed ID-JAG and an untrusted IdP are refused."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import flask
import httpx
import pytest

from examples.authlib_vendor.app import add_client, create_app
from tests.examples.test_fastapi_vendor_example import CLIENT, SECRET, id_jag, idp, redeem
from tests.support.rawhttp import raw_request
from tests.support.wsgi import serve_wsgi
from xaa.adapters.serving import free_port

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def authlib_vendor(data_dir: Path, trusted: list[str], vendor: str) -> Iterator[flask.Flask]:
    app = create_app(vendor, data_dir, trusted)
    add_client(app.extensions["vendor_db"], CLIENT, SECRET)
    with serve_wsgi(app, port=int(vendor.rsplit(":", 1)[1])):
        yield app


def test_authlib_vendor_redeems_an_id_jag_once_and_serves_notes(tmp_path: Path) -> None:
    vendor = f"http://127.0.0.1:{free_port()}"
    with idp(vendor) as acme, idp(vendor) as rogue, authlib_vendor(tmp_path, [acme], vendor):
        assertion = id_jag(acme, vendor)
        answer = redeem(vendor, assertion)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        token = answer.json()
        assert "refresh_token" not in token
        assert set(token["scope"].split()) == {"notes.read", "notes.write"}
        seen = httpx.get(
            f"{vendor}/notes", headers={"authorization": f"Bearer {token['access_token']}"}
        )
        assert seen.status_code == 200 and seen.json()["client"] == CLIENT
        again = redeem(vendor, assertion)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert again.headers["cache-control"] == "no-store"
        untrusted = redeem(vendor, id_jag(rogue, vendor))
        assert untrusted.status_code == 400 and untrusted.json()["error"] == "invalid_grant"
        assert httpx.get(f"{vendor}/notes").status_code == 401


def test_authlib_vendor_token_edge(tmp_path: Path) -> None:
    vendor = f"http://127.0.0.1:{free_port()}"
    with authlib_vendor(tmp_path, [], vendor):
        twice = [("authorization", "Basic eA=="), ("authorization", "Basic eQ==")]
        answer = httpx.post(f"{vendor}/token", data={"grant_type": "x"}, headers=twice)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
        assert answer.headers["cache-control"] == "no-store"
        big = httpx.post(f"{vendor}/token", data={"a": "x" * 70_000})
        assert big.status_code == 413 and big.json()["error"] == "invalid_request"
        assert big.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("credentials", [b"\xff\xfe", "Zm9vOmJhcg\u00e9".encode("latin-1")])
def test_basic_header_with_non_ascii_byte_is_invalid_client_not_500(
    tmp_path: Path, credentials: bytes
) -> None:
    """Before: authlib's Basic decoding raised UnicodeEncodeError: a 500 and a traceback."""
    vendor = f"http://127.0.0.1:{free_port()}"
    with authlib_vendor(tmp_path, [], vendor):
        form = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c"
        answer = httpx.post(
            f"{vendor}/token",
            content=form,
            headers={"authorization": b"Basic " + credentials,
                     "content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "chunk", [b"zz\r\nabc\r\n0\r\n\r\n", b"24;ext=1\r\n" + b"a" * 36 + b"\r\n0\r\n\r\n"]
)
def test_chunked_body_werkzeug_cannot_decode_is_invalid_request_json_not_html(
    tmp_path: Path, chunk: bytes
) -> None:
    """Before: authlib read the form through werkzeug, whose 400 is an HTML page."""
    vendor = f"http://127.0.0.1:{free_port()}"
    with authlib_vendor(tmp_path, [], vendor):
        head = (
            "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer = raw_request(vendor, head.encode() + chunk)
        assert answer.status == 400 and json.loads(answer.body)["error"] == "invalid_request"
        assert answer.headers["cache-control"] == "no-store"
