"""The command line of the notes examples (FastAPI, Flask, Django, authlib):
``--data-dir DIR serve --issuer URL --trust-idp URL ...`` and ``add-client CLIENT_ID``.

An issuer that is no ``http(s)`` URL (RFC 8414 §2) is a usage error (exit 2, one line)
before anything starts, not a traceback or a server that refuses every ID-JAG.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_ISSUER = "http://127.0.0.1:8000"


def issuer_url(value: str) -> str:
    """An ``http(s)`` URL with a host, no query, no fragment, no userinfo."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        parts = parts._replace(scheme="")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or "?" in value
        or "#" in value
    ):
        shown = "the URL" if "@" in value else repr(value)
        raise argparse.ArgumentTypeError(
            f"{shown} is not an issuer: use an http(s) URL such as http://127.0.0.1:9400"
        )
    return value


def notes_parser(prog: str, data_dir: str = "notes-data") -> argparse.ArgumentParser:
    """``serve`` (``--issuer``, ``--trust-idp``) and ``add-client`` under ``--data-dir``."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--data-dir", type=Path, default=Path(data_dir))
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the notes API and its token endpoint")
    serve.add_argument("--issuer", default=DEFAULT_ISSUER, type=issuer_url)
    serve.add_argument(
        "--trust-idp", action="append", default=[], metavar="ISSUER", type=issuer_url
    )
    add = commands.add_parser("add-client", help="register a client; prints its secret once")
    add.add_argument("client_id")
    return parser


def listen_port(issuer: str) -> int:
    """The port in ``issuer``, else 8000 (behind a proxy that terminates TLS)."""
    return urlsplit(issuer).port or 8000
