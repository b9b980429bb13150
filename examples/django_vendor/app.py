"""The notes API on Django, with XAA from ``xaa.adapters.django``.

- ``resource_urls``: ``POST /token`` (jwt-bearer, draft §4.4), RFC 8414 metadata,
  ``/jwks.json`` and the RFC 9728 metadata of ``/notes``;
- ``AccessTokenMiddleware``: every request under ``/notes`` needs a token with
  ``notes.read`` (``XAA_PROTECTED_PATHS``); ``@requires(server, "notes.write")`` adds
  the write scope for ``POST``. Views read ``request.access_token``.

In a Django project the values of :func:`django_settings` go into ``settings.py`` and
the patterns of :func:`notes_urls` into ``urls.py``. Run it (see README.md)::

    python -m examples.django_vendor add-client wiki-at-notes   # prints the secret once
    python -m examples.django_vendor serve --issuer http://127.0.0.1:8000 --trust-idp URL
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from examples.fastapi_vendor.stores import VendorDb
from examples.notes_cli import listen_port, notes_parser
from examples.notes_xaa import DB_FILE, Notes, NotesXaa

MAX_NOTE = 2000
MIDDLEWARE = ["xaa.adapters.django.AccessTokenMiddleware"]


@dataclass
class UrlConf:
    """A URLconf (Django takes any object with ``urlpatterns`` as ``ROOT_URLCONF``)."""

    urlpatterns: list[Any]

    def __hash__(self) -> int:  # Django caches resolvers by URLconf
        return id(self)


def notes_urls(xaa: NotesXaa, notes: Notes) -> list[Any]:
    """The URL patterns: xaa's endpoints, then ``/notes``."""
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.urls import path

    from xaa.adapters.django import requires, resource_urls

    @requires(xaa.server, "notes.write")
    def add_note(request: HttpRequest) -> HttpResponse:
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not 0 < len(text) <= MAX_NOTE:
            refused = {"error": "invalid_request", "error_description": "text required"}
            return JsonResponse(refused, status=400)
        return JsonResponse(notes.add(request.access_token, text), status=201)

    def notes_view(request: HttpRequest) -> HttpResponse:
        # AccessTokenMiddleware checked notes.read and set request.access_token.
        if request.method == "POST":
            response: HttpResponse = add_note(request)
            return response
        return JsonResponse(notes.of(request.access_token), safe=False)

    return [
        *resource_urls(xaa.endpoint, xaa.metadata, xaa.jwks, [xaa.resource_metadata]),
        path("notes", notes_view),
    ]


def django_settings(xaa: NotesXaa, urlconf: object) -> dict[str, Any]:
    """The settings this app needs (no database, no installed apps)."""
    return {
        "ROOT_URLCONF": urlconf,
        "MIDDLEWARE": MIDDLEWARE,
        "ALLOWED_HOSTS": [urlsplit(xaa.issuer).hostname or "localhost"],
        "XAA_RESOURCE_SERVER": xaa.server,
        "XAA_PROTECTED_PATHS": {"/notes": ["notes.read"]},
    }


@dataclass
class NotesApp:
    """The wiring, its URLconf and the settings to run it with."""

    xaa: NotesXaa
    urlconf: UrlConf
    settings: dict[str, Any]


def create_app(issuer: str, data_dir: Path, trusted_idps: list[str]) -> NotesApp:
    """The notes API at ``issuer``, trusting ``trusted_idps``; state in ``data_dir``."""
    xaa = NotesXaa.build(issuer, data_dir, trusted_idps)
    urlconf = UrlConf(notes_urls(xaa, Notes()))
    return NotesApp(xaa, urlconf, django_settings(xaa, urlconf))


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` or ``add-client``."""
    parser = notes_parser("python -m examples.django_vendor")
    args = parser.parse_args(argv)
    if args.command == "add-client":
        args.data_dir.mkdir(parents=True, exist_ok=True)
        print(VendorDb(args.data_dir / DB_FILE).add_client(args.client_id))
        return 0
    from wsgiref.simple_server import make_server

    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    app = create_app(args.issuer, args.data_dir, args.trust_idp)
    settings.configure(DEBUG=False, SECRET_KEY="unused-no-sessions", **app.settings)
    django.setup()
    port = listen_port(args.issuer)
    with make_server("127.0.0.1", port, WSGIHandler()) as server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
