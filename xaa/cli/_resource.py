"""``xaa resource serve``: run the reference chat app (resource AS + API + MCP server).

- ``xaa resource serve [--config FILE] [--host] [--port] [--issuer] [--db] [--replay] ...``:
  with ``--config`` the file describes the deployment (docs/resource-config.md) and the
  flags given override it; ``--trust-idp`` and ``--idp-email-domain`` are refused with
  ``--config`` (list the IdPs in the file). Without ``--config``: the embedded demo world.
- ``xaa resource config --template`` / ``--check FILE``: a commented starting file;
  validation with ``FILE:LINE: key.path: message`` errors (exit 2) or one OK line (exit 0)
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from reference_resource import Settings

from ._options import config_command, db_path, replay_store
from ._serving import add_workers, serve


def register(subparsers: Any) -> None:
    """Add ``xaa resource serve``."""
    resource = subparsers.add_parser("resource", help="the reference resource app (chat)")
    commands = resource.add_subparsers(dest="resource_command", required=True)
    serve = commands.add_parser("serve", help="serve the chat AS and API")
    serve.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="TOML configuration (docs/resource-config.md); flags given override it",
    )
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (9500; 9600 with --legacy)")
    serve.add_argument(
        "--issuer",
        default=None,
        type=_issuer_url,
        help="issuer identifier, an http(s) URL (default from host/port)",
    )
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
        type=_issuer_url,
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
    add_workers(serve)
    serve.set_defaults(func=_serve, build=build_app)

    config = commands.add_parser("config", help="write or check a configuration file")
    action = config.add_mutually_exclusive_group(required=True)
    action.add_argument("--template", action="store_true", help="print a commented template")
    action.add_argument("--check", metavar="FILE", help="validate FILE; exit 2 on any error")
    config.set_defaults(func=_config)


def _issuer_url(value: str) -> str:
    """An issuer identifier (RFC 8414 §2), refused while parsing: exit 2, one line."""
    from reference_resource.config import issuer_problem

    problem = issuer_problem(value)
    if problem is not None:
        shown = "the URL" if "@" in value else repr(value)
        raise argparse.ArgumentTypeError(f"{shown} {problem}")
    return value


def _issuer_domain(value: str) -> tuple[str, str]:
    """``URL=DOMAIN`` of ``--idp-email-domain``."""
    issuer, sep, domain = value.rpartition("=")
    if not sep or not issuer or not domain or "@" in domain:
        raise argparse.ArgumentTypeError(
            "expected URL=DOMAIN, e.g. http://127.0.0.1:9400=acme.example"
        )
    return _issuer_url(issuer), domain.lower()


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The :class:`reference_resource.Settings` of ``xaa resource serve`` arguments."""
    from reference_resource import Settings

    if getattr(args, "config", None) is not None:
        return _from_config(args)

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


def build_app(args: argparse.Namespace) -> Any:
    """The chat app of ``xaa resource serve`` arguments (also each ``--workers`` process's)."""
    from reference_resource import create_app

    return create_app(settings_from_args(args))


def _from_config(args: argparse.Namespace) -> Settings:
    """The configuration file's settings, with the flags that were given on top."""
    from reference_resource.config import load_config, settings_from_config
    from xaa import ConfigurationError

    if args.trust_idp or args.idp_email_domain or args.legacy:
        raise ConfigurationError(
            "--trust-idp, --idp-email-domain and --legacy cannot be mixed with --config:"
            " list the IdPs in the file (docs/resource-config.md)"
        )
    settings = settings_from_config(load_config(args.config), host=args.host or "127.0.0.1")
    if args.issuer is not None:  # the port follows the issuer unless --port is given
        settings = replace(settings, port=urlsplit(args.issuer).port or settings.port)
    if args.port is not None:
        settings = replace(settings, port=args.port)
    given = {"issuer": args.issuer, "db": args.db, "replay": args.replay}
    settings = replace(settings, **{k: v for k, v in given.items() if v is not None})
    if args.no_dpop:
        settings = replace(settings, dpop=False)
    if args.require_dpop:
        settings = replace(settings, dpop_required=True)
    if args.dpop_nonces:
        settings = replace(settings, dpop_nonces=True)
    return settings


def _config(args: argparse.Namespace) -> int:
    from reference_resource.config import check_file, load_config, template_text

    def summary(path: str) -> str:
        config = load_config(path)
        paths = ", ".join(r.path for r in config.resources)
        return (
            f"issuer {config.issuer}, {len(config.trusted_idps)} trusted IdPs, "
            f"{len(config.clients)} clients, resources {paths}"
        )

    return config_command(args, template_text, check_file, summary)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from xaa import ConfigurationError

    settings = settings_from_args(args)
    if args.workers > 1 and (settings.replay == "memory" or settings.db == ":memory:"):
        raise ConfigurationError(
            "--workers needs state the processes share: --replay sqlite or redis://..."
            " and a --db file (memory is per process)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    mode = "legacy (no XAA)" if settings.legacy else "XAA"
    print(f"chat {mode}: issuer {settings.issuer}, resource {settings.resource}", flush=True)
    serve(args, build_app, name="chat", host=settings.host, port=settings.port)
    return 0
