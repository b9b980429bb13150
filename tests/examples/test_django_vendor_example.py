"""examples/django_vendor end to end: the reference IdP on a free port -> ID-JAG -> the Django
app's token endpoint (Django's WSGI handler under werkzeug on loopback) -> its notes routes,
guarded by AccessTokenMiddleware and the ``requires`` decorator."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.django_vendor.app import NotesApp, create_app
from tests.examples.test_fastapi_vendor_example import (
    CLIENT,
    SECRET,
    bearer,
    id_jag,
    idp,
    notes_round_trip,
    redeem,
)
from tests.support.django_setup import configure_django
from tests.support.wsgi import serve_wsgi
from xaa.adapters.serving import free_port

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def django_vendor(data_dir: Path, trusted: list[str], vendor: str) -> Iterator[NotesApp]:
    """Serve the example; its settings hold while the block runs."""
    configure_django()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    app = create_app(vendor, data_dir, trusted)
    app.xaa.db.add_client(CLIENT, SECRET)
    port = int(vendor.rsplit(":", 1)[1])
    with override_settings(**app.settings), serve_wsgi(WSGIHandler(), port=port):
        yield app


def test_django_vendor_redeems_an_id_jag_and_serves_notes(tmp_path: Path) -> None:
    vendor = f"http://127.0.0.1:{free_port()}"
    with idp(vendor) as acme, django_vendor(tmp_path, [acme], vendor):
        notes_round_trip(vendor, acme)  # the 401: the middleware
        meta = httpx.get(f"{vendor}/.well-known/oauth-authorization-server").json()
        assert meta["token_endpoint"] == f"{vendor}/token"


def test_django_vendor_refuses_two_authorization_headers_over_the_wire(tmp_path: Path) -> None:
    vendor = f"http://127.0.0.1:{free_port()}"
    with django_vendor(tmp_path, [], vendor):
        headers = [("authorization", "Bearer a"), ("authorization", "Bearer b")]
        answer = httpx.get(f"{vendor}/notes", headers=headers)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
        assert answer.headers["cache-control"] == "no-store"


def test_django_notes_body_nested_past_the_parser_is_400_not_500(tmp_path: Path) -> None:
    """Before: json raised RecursionError on a deeply nested body: a 500 and a traceback."""
    vendor = f"http://127.0.0.1:{free_port()}"
    with idp(vendor) as acme, django_vendor(tmp_path, [acme], vendor):
        token = redeem(vendor, id_jag(acme, vendor)).json()["access_token"]
        body = b'{"text":' + b"[" * 50_000
        headers = {**bearer(token), "content-type": "application/json"}
        answer = httpx.post(f"{vendor}/notes", content=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
