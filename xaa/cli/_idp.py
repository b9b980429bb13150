"""``xaa idp ...``: run the reference IdP and administer its database.

- ``xaa idp serve [--host] [--port] [--issuer] [--config] [--db] [--workers N]``
- ``xaa idp keys stage`` / ``xaa idp keys rotate [--min-staging S]`` / ``xaa idp keys list``
- ``xaa idp audit [--json] [--limit N]``
- ``xaa idp clients list`` / ``suspend ID`` / ``resume ID`` (the kill switch)
- ``xaa idp config --template`` / ``--check FILE``: a commented starting file; validation
  with ``FILE:LINE: message`` errors (exit 2) or one OK line (exit 0)
"""

from __future__ import annotations

import argparse
import json
import math
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._options import config_command, db_path
from ._serving import add_workers, serve

DEFAULT_PORT = 9400


def register(subparsers: Any) -> None:
    """Add ``xaa idp`` and its subcommands."""
    idp = subparsers.add_parser("idp", help="the reference IdP (issues ID-JAGs)")
    commands = idp.add_subparsers(dest="idp_command", required=True)

    serve = commands.add_parser("serve", help="run the reference IdP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: the issuer's, or 9400")
    serve.add_argument("--issuer", default=None, help="default: from the configuration")
    _common(serve)
    add_workers(serve)
    serve.set_defaults(func=_serve, build=build_app)

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    stage = keys.add_parser("stage", help="publish a fresh next key now (it signs after rotate)")
    _common(stage)
    stage.set_defaults(func=_stage)
    rotate = keys.add_parser(
        "rotate",
        help="the staged key signs now and a new key is staged; refused until the staged key"
        " has been published for the minimum staging period",
    )
    rotate.add_argument(
        "--min-staging",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="default: key_min_staging from the configuration (3600, the resource side's"
        " JWKS cache lifetime)",
    )
    _common(rotate)
    rotate.set_defaults(func=_rotate)
    listing = keys.add_parser("list", help="kid and state of every key")
    _common(listing)
    listing.set_defaults(func=_list_keys)

    audit = commands.add_parser("audit", help="print the audit log")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.add_argument("--limit", type=_count, default=None, help="only the last N events")
    _common(audit)
    audit.set_defaults(func=_audit)

    clients = commands.add_parser("clients", help="clients, owners and status").add_subparsers(
        dest="clients_command", required=True
    )
    for name, status, text in (
        ("suspend", "suspended", "deny the client's next token request at once"),
        ("resume", "active", "allow a suspended client again"),
    ):
        cmd = clients.add_parser(name, help=text)
        cmd.add_argument("client_id")
        _common(cmd)
        cmd.set_defaults(func=_set_status, status=status)
    listing = clients.add_parser("list", help="every client with its owner and status")
    _common(listing)
    listing.set_defaults(func=_list_clients)

    config = commands.add_parser("config", help="write or check a configuration file")
    action = config.add_mutually_exclusive_group(required=True)
    action.add_argument("--template", action="store_true", help="print a commented template")
    action.add_argument("--check", metavar="FILE", help="validate FILE; exit 2 on any error")
    config.set_defaults(func=_config)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="TOML file (default: the demo config)")
    parser.add_argument(
        "--db", default=None, type=db_path, help="SQLite file (default: ./xaa-idp.sqlite3)"
    )


def _open(args: argparse.Namespace, *, existing: bool = True) -> tuple[Any, Any]:
    from reference_idp.config import load_config
    from reference_idp.config_check import check_file
    from reference_idp.store import DEFAULT_DB, Store
    from xaa import ConfigurationError

    config = load_config(args.config)
    problems = [] if args.config is None else check_file(args.config)
    if problems:  # what --check refuses is never served nor seeded into the database
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigurationError(
            f"{problems[0]}{more}; `xaa idp config --check {args.config}` lists every problem"
        )
    path = args.db or DEFAULT_DB
    if existing and path != ":memory:" and not Path(path).expanduser().exists():
        # An admin command on a mistyped path would act on a fresh database and say it
        # worked (a kill switch that switched nothing).
        raise ConfigurationError(
            f"{path}: no such database; give the server's --db (`xaa idp serve --db {path}`"
            " creates one)"
        )
    return config, Store(path)


def _seed(args: argparse.Namespace, config: Any, store: Any) -> None:
    """Seed ``store`` from ``config`` as ``serve`` does; without ``--config`` (the demo
    configuration), refuse a database another configuration seeded: the demo's users,
    clients, public secrets and policy would be written into it."""
    from xaa import ConfigurationError

    if args.config is None and store.seeded_from_another(config):
        store.close()
        raise ConfigurationError(
            f"{store.path} was seeded from another configuration than the demo one:"
            " pass the server's --config FILE"
        )
    store.seed(config)


def _configured(args: argparse.Namespace) -> tuple[Any, Any]:
    config, store = _open(args, existing=False)
    if args.issuer is None and args.port is not None:
        config = config.with_issuer(f"http://{args.host}:{args.port}")
    config = config.with_issuer(args.issuer)
    return config, store


def build_app(args: argparse.Namespace) -> Any:
    """The IdP app of ``xaa idp serve`` arguments (also each ``--workers`` process's)."""
    from reference_idp.app import create_app

    return create_app(*_configured(args))


def _serve(args: argparse.Namespace) -> int:
    import logging

    from xaa import ConfigurationError

    config, store = _configured(args)
    if args.workers > 1 and store.path == ":memory:":
        raise ConfigurationError("--workers needs a --db file the processes share")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    port = args.port or urlsplit(config.issuer).port or DEFAULT_PORT
    _can_listen(args.host, port)
    print(f"reference IdP {config.issuer} (db {store.path})", flush=True)
    serve(args, build_app, name="reference IdP", host=args.host, port=port, log_level="info")
    return 0


def _can_listen(host: str, port: int) -> None:
    """Refuse in one line (exit 2) a ``--host``/``--port`` that cannot be served, before
    the server says it is serving there (uvicorn would log and exit 3)."""
    from xaa import ConfigurationError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except socket.gaierror as exc:
        raise ConfigurationError(f"--host {host}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            " (another server there? choose another --port)"
        ) from None


def _stage(args: argparse.Namespace) -> int:
    config, store = _open(args)
    _seed(args, config, store)
    key = store.stage_key()
    wait = int(config.key_min_staging)
    print(f"staged {key.kid}: published now; `xaa idp keys rotate` lets it sign in {wait} s")
    store.close()
    return 0


def _rotate(args: argparse.Namespace) -> int:
    config, store = _open(args)
    _seed(args, config, store)
    staging = config.key_min_staging if args.min_staging is None else args.min_staging
    try:  # RotationRefused: one line from the top-level handler, exit 2
        key = store.rotate_keys(config.max_signed_lifetime, min_staging=staging)
    finally:
        store.close()
    print(f"signing with {key.kid}; a fresh key is staged (published, not signing)")
    return 0


def _list_keys(args: argparse.Namespace) -> int:
    _, store = _open(args)
    for kid, state in store.key_states():
        print(f"{kid}\t{state}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    _, store = _open(args)
    for event in store.audit_events(args.limit):
        if args.json:
            print(event.model_dump_json())
        else:
            when = datetime.fromtimestamp(event.time, UTC).isoformat(timespec="seconds")
            attempted = event.extra.get("attempted_client_id")
            client = event.client_id or (f"{attempted}(unauthenticated)" if attempted else None)
            print(
                f"{when} {event.event} {event.decision}"
                f" {event.reason or '-'} client={client} sub={event.subject}"
                f" aud={event.audience} scope={event.granted_scope} jti={event.jti}"
                f"{_why(event)}"
            )
    return 0


def _why(event: Any) -> str:
    """What a text line adds so the operator sees a narrowing and a denial's reason: the
    requested scope when it differs from the granted one, and the private detail."""
    words = ""
    if event.requested_scope and event.requested_scope != event.granted_scope:
        words += f" asked={json.dumps(event.requested_scope)}"
    detail = event.extra.get("detail")
    if detail:
        words += f" detail={json.dumps(str(detail), ensure_ascii=False)}"
    return words


def _count(value: str) -> int:
    """A number of events, zero or more (``--limit``; SQLite reads a negative one as all)."""
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of events (0 or more)")
    return count


def _seconds(value: str) -> float:
    """A finite number of seconds, zero or more (``--min-staging``)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0 or more)")
    return seconds


def _set_status(args: argparse.Namespace) -> int:
    from xaa import AuditEvent, ConfigurationError

    config, store = _open(args)
    _seed(args, config, store)
    if not store.set_client_status(args.client_id, args.status):
        store.close()  # one line on stderr, exit 2 (xaa.cli.main)
        raise ConfigurationError(
            f"no client {args.client_id!r}; `xaa idp clients list` shows the clients"
        )
    decision = "denied" if args.status == "suspended" else "issued"
    store.emit(
        AuditEvent(
            event=f"client.{args.status}",
            decision=decision,
            reason="admin",
            client_id=args.client_id,
        )
    )
    print(f"{args.client_id}: {args.status}")
    return 0


def _list_clients(args: argparse.Namespace) -> int:
    config, store = _open(args)
    _seed(args, config, store)
    for client in store.clients():
        print(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "owner": client.owner,
                    "status": client.status,
                    "auth_method": client.auth_method,
                }
            )
        )
    return 0


def _config(args: argparse.Namespace) -> int:
    from reference_idp.config import load_config
    from reference_idp.config_check import check_file, template_text

    def summary(path: str) -> str:
        config = load_config(path)
        return (
            f"issuer {config.issuer}, {len(config.users)} users, "
            f"{len(config.clients)} clients, {len(config.policy.grants)} grants"
        )

    return config_command(args, template_text, check_file, summary)
