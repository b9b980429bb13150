"""``xaa resource serve``: run the reference chat app (resource AS + API)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference_resource import Settings

from .options import db_path, replay_store


def register(subparsers: Any) -> None:
    """Add ``xaa resource serve``."""
    resource = subparsers.add_parser("resource", help="the reference resource app (chat)")
    commands = resource.add_subparsers(dest="resource_command", required=True)
    serve = commands.add_parser("serve", help="serve the chat AS and API")
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (9500; 9600 with --legacy)")
    serve.add_argument("--issuer", default=None, help="issuer identifier (default from host/port)")
    serve.add_argument("--db", default=None, type=db_path, help="SQLite state file")
    serve.add_argument(
        "--replay",
        default=None,
        type=replay_store,
        help="replay store: sqlite (default), memory or redis://... (checked at startup)",
    )
    serve.add_argument(
        "--trust-idp",
        action="append",
        default=[],
        metavar="URL",
        help="trust this IdP issuer (keys discovered from its metadata); repeatable; "
        "without any, the reference IdP http://127.0.0.1:9400 is trusted (demo default)",
    )
    serve.add_argument(
        "--idp-email-domain",
        action="append",
        default=[],
        metavar="URL=DOMAIN",
        type=_issuer_domain,
        help="the trusted IdP URL is authoritative for DOMAIN: its email claims there may "
        "link existing accounts of other issuers (docs/resource.md); repeatable",
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
    serve.set_defaults(func=_serve)


def _issuer_domain(value: str) -> tuple[str, str]:
    """``URL=DOMAIN`` of ``--idp-email-domain``."""
    issuer, sep, domain = value.rpartition("=")
    if not sep or not issuer or not domain or "@" in domain:
        raise argparse.ArgumentTypeError(
            "expected URL=DOMAIN, e.g. http://127.0.0.1:9400=acme.example"
        )
    return issuer, domain.lower()


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The :class:`reference_resource.Settings` of ``xaa resource serve`` arguments."""
    from reference_resource import Settings

    settings: Settings = Settings.make(
        legacy=args.legacy,
        host=args.host,
        port=args.port,
        issuer=args.issuer,
        db=args.db,
        replay=args.replay,
        trust_idps=args.trust_idp,
        idp_email_domains=args.idp_email_domain,
    )
    return replace(
        settings,
        dpop=not args.no_dpop,
        dpop_required=args.require_dpop,
        dpop_nonces=args.dpop_nonces,
    )


def _serve(args: argparse.Namespace) -> int:
    import logging

    from reference_resource import create_app

    from ..adapters.serving import serve

    settings = settings_from_args(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    mode = "legacy (no XAA)" if settings.legacy else "XAA"
    print(f"chat {mode}: issuer {settings.issuer}, resource {settings.resource}", flush=True)
    serve(create_app(settings), settings.host, settings.port)
    return 0
