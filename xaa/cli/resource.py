"""``xaa resource serve``: run the reference chat app (resource AS + API)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``xaa resource serve``."""
    resource = subparsers.add_parser("resource", help="the reference resource app (chat)")
    commands = resource.add_subparsers(dest="resource_command", required=True)
    serve = commands.add_parser("serve", help="serve the chat AS and API")
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (9500; 9600 with --legacy)")
    serve.add_argument("--issuer", default=None, help="issuer identifier (default from host/port)")
    serve.add_argument("--db", default=None, help="SQLite state file")
    serve.add_argument(
        "--replay", default=None, help="replay store: sqlite (default), memory or redis://..."
    )
    serve.add_argument(
        "--trust-idp",
        action="append",
        default=[],
        metavar="URL",
        help="also trust this IdP issuer (keys discovered from its metadata); repeatable",
    )
    serve.add_argument(
        "--legacy", action="store_true", help="the same app without XAA (code flow only)"
    )
    serve.add_argument(
        "--no-dpop", action="store_true", help="do not serve DPoP (RFC 9449) at /token and /api"
    )
    serve.add_argument(
        "--require-dpop", action="store_true", help="the API accepts only DPoP-bound tokens"
    )
    serve.add_argument(
        "--dpop-nonces", action="store_true", help="require server nonces in DPoP proofs"
    )
    # TEST ONLY (reference_resource.broken): disable one check to prove the conformance suite.
    serve.add_argument("--test-only-break", default=None, metavar="RULE", help=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from reference_resource import Settings, create_app

    from ..adapters.serving import serve

    settings = Settings.make(
        legacy=args.legacy,
        host=args.host,
        port=args.port,
        issuer=args.issuer,
        db=args.db,
        replay=args.replay,
        trust_idps=args.trust_idp,
    )
    settings = replace(
        settings,
        dpop=not args.no_dpop,
        dpop_required=args.require_dpop,
        dpop_nonces=args.dpop_nonces,
        test_only_break=args.test_only_break,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    mode = "legacy (no XAA)" if settings.legacy else "XAA"
    print(f"chat {mode}: issuer {settings.issuer}, resource {settings.resource}", flush=True)
    serve(create_app(settings), settings.host, settings.port)
    return 0
