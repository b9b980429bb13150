"""The notes API on Flask, with XAA from ``xaa.adapters.flask``.

- ``resource_blueprint``: ``POST /token`` (jwt-bearer, draft §4.4), RFC 8414 metadata,
  ``/jwks.json`` and the RFC 9728 metadata of ``/notes``;
- ``requires(server, scope)``: the scope guard; the view reads ``flask.g.access_token``.

Run it (see README.md)::

    python -m examples.flask_vendor add-client wiki-at-notes   # prints the secret once
    python -m examples.flask_vendor serve --issuer http://127.0.0.1:8000 --trust-idp URL
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import flask

from examples.fastapi_vendor.stores import VendorDb
from examples.notes_cli import listen_port, notes_parser
from examples.notes_xaa import DB_FILE, Notes, NotesXaa
from xaa import MAX_FORM_BYTES
from xaa.adapters.flask import requires, resource_blueprint

MAX_NOTE = 2000


def create_app(issuer: str, data_dir: Path, trusted_idps: list[str]) -> flask.Flask:
    """The notes API at ``issuer``, trusting ``trusted_idps``; state in ``data_dir``."""
    xaa = NotesXaa.build(issuer, data_dir, trusted_idps)
    notes = Notes()
    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM_BYTES  # the notes API's bodies too
    app.register_blueprint(
        resource_blueprint(xaa.endpoint, xaa.metadata, xaa.jwks, [xaa.resource_metadata])
    )

    @app.get("/notes")
    @requires(xaa.server, "notes.read")
    def list_notes() -> Any:
        return notes.of(flask.g.access_token)

    @app.post("/notes")
    @requires(xaa.server, "notes.write")
    def add_note() -> Any:
        try:  # silent=True turns a ValueError into None, not a RecursionError
            body = flask.request.get_json(silent=True)
        except RecursionError:  # JSON nested deeper than the parser recurses
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not 0 < len(text) <= MAX_NOTE:
            return {"error": "invalid_request", "error_description": "text required"}, 400
        return notes.add(flask.g.access_token, text), 201

    app.extensions["notes_xaa"] = xaa
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` or ``add-client``."""
    parser = notes_parser("python -m examples.flask_vendor")
    args = parser.parse_args(argv)
    if args.command == "add-client":
        args.data_dir.mkdir(parents=True, exist_ok=True)
        print(VendorDb(args.data_dir / DB_FILE).add_client(args.client_id))
        return 0
    app = create_app(args.issuer, args.data_dir, args.trust_idp)
    app.run(host="127.0.0.1", port=listen_port(args.issuer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
