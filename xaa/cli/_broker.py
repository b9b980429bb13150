"""``xaa broker``: the service, keys, the attribution log, the kill switch, key rotation.

- ``xaa broker serve --config FILE [--host] [--port] [--workers N]``: the broker service
  (``reference_broker``; uvicorn workers share state through the store only)
- ``xaa broker config --template`` / ``--check FILE``: a commented starting file; validation
  with ``FILE:LINE: message`` errors (exit 2) or one OK line (exit 0)

The broker's state is one SQLite file (``--db``, default ``./xaa-broker.sqlite3``);
vault keys come from ``XAA_BROKER_KEYS`` or ``XAA_BROKER_KEY_FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from ..broker._attribution import MintRecord
from ..broker._flow import BrokerConfig
from ..broker._killswitch import TargetKind
from ._options import config_command, db_path, print_problems

DEFAULT_DB = "xaa-broker.sqlite3"


def register(subparsers: Any) -> None:
    """Add ``xaa broker ...``."""
    broker = subparsers.add_parser("broker", help="credential broker: log, revoke, keys")
    sub = broker.add_subparsers(dest="broker_command", required=True)

    serve = sub.add_parser("serve", help="run the broker service (token API and people's pages)")
    serve.add_argument("--config", required=True, help="the service's TOML file")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: public_url's port")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(func=_serve)

    config = sub.add_parser("config", help="a configuration template, or check a file")
    which = config.add_mutually_exclusive_group(required=True)
    which.add_argument("--template", action="store_true", help="print a commented template")
    which.add_argument("--check", metavar="FILE", help="validate FILE (exit 2 on problems)")
    config.set_defaults(func=_config_command)

    keygen = sub.add_parser("keygen", help="print a new vault key line (kid:key)")
    keygen.add_argument("--kid", default="k1")
    keygen.set_defaults(func=_keygen)

    log = sub.add_parser("log", help="who minted what: person, agent, app, strategy, scopes")
    _db(log)
    log.add_argument("--json", action="store_true", help="one JSON array")
    log.set_defaults(func=_log)

    for name, func, text in (
        ("revoke", _revoke, "kill switch: revoke everything for a person, an agent or an app"),
        ("lift", _lift, "lift a revocation"),
    ):
        cmd = sub.add_parser(name, help=text)
        _db(cmd)
        which = cmd.add_mutually_exclusive_group(required=True)
        for kind in ("person", "agent", "app"):
            which.add_argument(f"--{kind}", metavar="NAME")
        if name == "revoke":
            cmd.add_argument("--config", help="broker TOML ([[apps]]): also revoke at the apps")
        cmd.set_defaults(func=func)

    rotate = sub.add_parser("rotate-key", help="re-encrypt the vault under the current key")
    _db(rotate)
    rotate.set_defaults(func=_rotate)

    secret = sub.add_parser("set-secret", help="vault the client secret of APP (read on stdin)")
    _db(secret)
    secret.add_argument("app")
    secret.set_defaults(func=_set_secret)


def _serve(args: argparse.Namespace) -> int:
    import os
    from urllib.parse import urlsplit

    import uvicorn

    from reference_broker.app import CONFIG_ENV
    from reference_broker.config import load_config
    from reference_broker.config_check import check_file

    from ..adapters._vault import Keyring

    if print_problems(check_file(args.config)):
        return 2
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1")
    config = load_config(args.config)
    Keyring.from_environment()  # refuse to start without vault keys, before any worker
    if not config.idp.secret():
        raise SystemExit(f"{args.config}: idp.client_secret_env names an unset variable")
    port = args.port or urlsplit(config.public_url).port or 9800
    os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
    uvicorn.run(
        "reference_broker.app:app_from_environment",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def _config_command(args: argparse.Namespace) -> int:
    from reference_broker.config import load_config
    from reference_broker.config_check import check_file, template_text

    def summary(path: str) -> str:
        config = load_config(path)
        return (
            f"public_url {config.public_url}, {len(config.apps)} apps, "
            f"{len(config.agents)} agents, {len(config.trust_domains)} trust domains"
        )

    return config_command(args, template_text, check_file, summary)


def _db(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--db", default=DEFAULT_DB, type=db_path, help=f"SQLite file (default: {DEFAULT_DB})"
    )


def _keygen(args: argparse.Namespace) -> int:
    from ..adapters._vault import Keyring

    sys.stdout.write(Keyring.generate(args.kid).to_text())
    return 0


def _format(record: MintRecord) -> str:
    when = datetime.fromtimestamp(record.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if record.event == "revoke":
        return f"{when}  REVOKE  {record.detail}"
    scopes = " ".join(record.granted_scopes) or "-"
    asked = " ".join(record.requested_scopes) or "-"
    return (
        f"{when}  {record.person} via {record.agent or '-'}  {record.app}  {record.strategy}"
        f"  asked [{asked}] got [{scopes}]  {record.fingerprint}"
    )


def _log(args: argparse.Namespace) -> int:
    from ..adapters._broker_sqlite import SqliteAttributionLog

    records = SqliteAttributionLog(args.db).records()
    if args.json:
        print(json.dumps([r.to_json() for r in records], indent=2))
    else:
        for record in records:
            print(_format(record))
    return 0


def _target(args: argparse.Namespace) -> tuple[TargetKind, str]:
    kinds: tuple[TargetKind, ...] = ("person", "agent", "app")
    for kind in kinds:
        value = getattr(args, kind)
        if value:
            return kind, value
    raise SystemExit("name a --person, --agent or --app")


def _config(path: str | None, db: str) -> BrokerConfig:
    from ..adapters._broker_http import app_configs
    from ..adapters._broker_sqlite import SqliteAttributionLog, SqliteRevocationList
    from ..adapters._vault import sqlite_vault

    apps = []
    if path:
        data = tomllib.loads(Path(path).read_text())
        if "public_url" in data:  # the service's file (xaa broker serve)
            from reference_broker.config import load_config

            service = load_config(path)
            apps = [a.app_config(service.base) for a in service.apps]
        else:
            apps = app_configs(data.get("apps", []))
    return BrokerConfig(
        apps={app.name: app for app in apps},
        vault=sqlite_vault(db),
        revocations=SqliteRevocationList(db),
        log=SqliteAttributionLog(db),
    )


def _revoke(args: argparse.Namespace) -> int:
    from ..adapters._broker_http import Broker

    kind, value = _target(args)

    async def run() -> None:
        async with Broker(_config(args.config, args.db)) as broker:
            report = await broker.revoke(kind, value)
        print(
            f"revoked {kind}:{value}: {report.vault_slots_deleted} vault slots deleted, "
            f"{report.revoked_at_app} tokens revoked at apps, "
            f"{report.not_revoked_at_app} not revocable there; later requests fail closed"
        )

    anyio.run(run)
    return 0


def _lift(args: argparse.Namespace) -> int:
    from ..adapters._broker_sqlite import SqliteRevocationList
    from ..broker._killswitch import RevocationTarget

    kind, value = _target(args)
    lifted = SqliteRevocationList(args.db).remove(RevocationTarget(kind, value))
    print(f"lifted {kind}:{value}" if lifted else f"{kind}:{value} was not revoked")
    return 0 if lifted else 1


def _rotate(args: argparse.Namespace) -> int:
    from ..adapters._vault import sqlite_vault

    vault = sqlite_vault(args.db)
    count = vault.rotate()
    print(f"re-encrypted {count} vault records under key {vault.keyring.current}")
    return 0


def _set_secret(args: argparse.Namespace) -> int:
    from ..adapters._vault import sqlite_vault
    from ..broker._vault import CLIENT_SUBJECT, SecretKind, Slot, VaultEntry

    secret = sys.stdin.readline().strip()
    if not secret:
        raise SystemExit("no secret on stdin")
    sqlite_vault(args.db).put(
        Slot(SecretKind.CLIENT_SECRET, CLIENT_SUBJECT, args.app), VaultEntry(secret)
    )
    print(f"vaulted the client secret of {args.app}")
    return 0
