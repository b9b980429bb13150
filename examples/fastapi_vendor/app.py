"""The notes app: the existing API (``notes.py``) with XAA added (``auth.py``).

Run it (see README.md)::

    python -m examples.fastapi_vendor serve --issuer http://127.0.0.1:8000 \\
        --trust-idp https://idp.acme.example --trust-idp https://login.globex.example
    python -m examples.fastapi_vendor add-client wiki-at-notes   # prints the secret once
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from examples.notes_cli import listen_port, notes_parser

from .auth import TokenRejected, VendorAuth, token_rejected
from .notes import NotesStore, notes_router
from .stores import JsonLinesAudit, VendorDb

KEY_FILE = "as-signing-key.jwk"  # private JWK, mode 0600
DB_FILE = "vendor.sqlite3"  # clients, accounts and their links
NOTES_FILE = "notes.sqlite3"
REPLAY_FILE = "replay.sqlite3"  # ID-JAG jti, until exp
AUDIT_FILE = "audit.jsonl"


@dataclass(frozen=True)
class Settings:
    """Where the app lives and whom it trusts."""

    issuer: str
    data_dir: Path
    trusted_idps: list[str] = field(default_factory=list)


def create_app(settings: Settings) -> FastAPI:
    """The notes API with its resource AS."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = VendorDb(settings.data_dir / DB_FILE)
    auth = VendorAuth.build(
        issuer=settings.issuer,
        key_file=settings.data_dir / KEY_FILE,
        db=db,
        replay_file=settings.data_dir / REPLAY_FILE,
        trusted_idps=settings.trusted_idps,
        audit=JsonLinesAudit(settings.data_dir / AUDIT_FILE),
    )
    app = FastAPI(title="Notes", openapi_url=None)
    app.add_exception_handler(TokenRejected, token_rejected)
    app.include_router(
        notes_router(
            NotesStore(str(settings.data_dir / NOTES_FILE)),
            can_read=auth.scopes("notes.read"),
            can_write=auth.scopes("notes.write"),
        )
    )
    app.router.routes.extend(auth.routes)
    app.state.auth, app.state.db = auth, db
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """``serve`` or ``add-client``."""
    parser = notes_parser("python -m examples.fastapi_vendor")
    args = parser.parse_args(argv)
    if args.command == "add-client":
        args.data_dir.mkdir(parents=True, exist_ok=True)
        print(VendorDb(args.data_dir / DB_FILE).add_client(args.client_id))
        return 0
    import uvicorn

    app = create_app(Settings(args.issuer, args.data_dir, args.trust_idp))
    port = listen_port(args.issuer)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
