"""A Flask app with an authlib ``AuthorizationServer`` (the vendor's, unchanged) that gains
the ID-JAG grant (draft §4.4) by registering xaa's :class:`~xaa.adapters.authlib.XaaIdJagGrant`.

- ``POST /token``: authlib's token endpoint; xaa's ``check_token_request`` guards the
  edge first (one ``Authorization`` header, a form, the body cap);
- ``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata (draft §7.2);
- ``GET /notes``: authlib's ``ResourceProtector`` with the vendor's token table.

Run it (see README.md)::

    python -m examples.authlib_vendor add-client wiki-at-notes   # prints the secret once
    python -m examples.authlib_vendor serve --issuer http://127.0.0.1:8000 --trust-idp URL
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import flask
from authlib.integrations.flask_oauth2 import (
    AuthorizationServer,
    ResourceProtector,
    current_token,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from werkzeug.exceptions import HTTPException

from examples.notes_cli import listen_port, notes_parser
from xaa import MAX_FORM_BYTES, IdJagClaims, spec
from xaa.adapters.authlib import IdJagGrantConfig, XaaIdJagGrant, check_token_request
from xaa.resource import TrustedIssuer, TrustRegistry, authorization_server_metadata
from xaa.stores import SqliteReplayStore

from .models import Client, Token, VendorDb

SCOPES = ("notes.read", "notes.write")
UNREADABLE_BODY = json.dumps(
    {"error": "invalid_request", "error_description": "The request body could not be read."}
)
REFUSAL_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}
DB_FILE, REPLAY_FILE = "vendor.sqlite3", "replay.sqlite3"


class NotesIdJagGrant(XaaIdJagGrant):
    """The vendor's part of the grant: who the user is (xaa checked everything else)."""

    db: VendorDb

    def resolve_user(self, claims: IdJagClaims) -> int:
        # draft §3.1, §6.3: sub is unique within (iss, tenant); link on first sight.
        return self.db.user_for(claims.iss, claims.tenant, claims.sub, claims.email)


class TokenTable(BearerTokenValidator):  # type: ignore[misc]
    """authlib's bearer validator over the vendor's token table."""

    def __init__(self, db: VendorDb) -> None:
        super().__init__()
        self.db = db

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.db.token(token_string)


def create_app(
    issuer: str,
    data_dir: Path,
    trusted_idps: list[str],
    *,
    grant: type[Any] | None = None,
) -> flask.Flask:
    """The app at ``issuer`` trusting ``trusted_idps``. ``grant``: the ID-JAG grant class
    to register (default: xaa's; the conformance tests register authlib's own to compare)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = VendorDb(data_dir / DB_FILE)
    resource = issuer.rstrip("/") + "/notes"
    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FORM_BYTES

    def save_token(token: dict[str, Any], request: Any) -> None:
        db.save_token(token, request.client.client_id, request.user)

    server = AuthorizationServer(app, query_client=db.query_client, save_token=save_token)
    if grant is None:
        config = IdJagGrantConfig(
            issuer,
            TrustRegistry([TrustedIssuer(idp) for idp in trusted_idps]),
            SqliteReplayStore(data_dir / REPLAY_FILE),
            resources=[resource],
        )
        grant = NotesIdJagGrant.configure(config)
    grant.db = db
    server.register_grant(grant)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(TokenTable(db))
    metadata = authorization_server_metadata(
        issuer, auth_methods=(spec.AUTH_CLIENT_SECRET_BASIC,), scopes=SCOPES
    ).model_copy(update={"jwks_uri": None})  # opaque tokens: no keys to publish

    @app.post("/token")
    def token() -> Any:
        refused = check_token_request(flask.request.environ)
        if refused is not None:
            return flask.Response(refused.body, refused.status, refused.headers)
        try:  # read once here: authlib parses the cached body; werkzeug's errors are HTML
            flask.request.get_data(cache=True)
        except (HTTPException, OSError):  # a chunked body cut short or malformed
            return flask.Response(UNREADABLE_BODY, 400, REFUSAL_HEADERS)
        return server.create_token_response()

    @app.get("/.well-known/oauth-authorization-server")
    def as_metadata() -> Any:
        return metadata.to_json()

    def notes() -> Any:
        return {"user": current_token.user_id, "client": current_token.client_id, "notes": []}

    app.add_url_rule("/notes", view_func=require_oauth("notes.read")(notes), methods=["GET"])

    app.extensions["vendor_db"] = db
    return app


def add_client(db: VendorDb, client_id: str, secret: str | None = None) -> str:
    """A client that may use the jwt-bearer grant for the notes scopes."""
    return db.add_client(
        client_id, secret, grant_types=(spec.GRANT_JWT_BEARER,), scope=" ".join(SCOPES)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` or ``add-client``."""
    parser = notes_parser("python -m examples.authlib_vendor", data_dir="notes-authlib-data")
    args = parser.parse_args(argv)
    if args.command == "add-client":
        args.data_dir.mkdir(parents=True, exist_ok=True)
        print(add_client(VendorDb(args.data_dir / DB_FILE), args.client_id))
        return 0
    app = create_app(args.issuer, args.data_dir, args.trust_idp)
    app.run(host="127.0.0.1", port=listen_port(args.issuer))
    return 0


__all__ = ["Client", "NotesIdJagGrant", "add_client", "create_app", "main"]

if __name__ == "__main__":
    sys.exit(main())
