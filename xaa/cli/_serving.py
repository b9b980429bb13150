"""``--workers N`` of ``xaa idp serve`` and ``xaa resource serve``.

Each uvicorn worker is its own process and builds its own app from the same command
line (``XAA_SERVE_ARGV``, re-parsed in the worker: paths and URLs, never a secret), so
every piece of state the workers share lives in SQLite (WAL) or Redis. The parent
builds the app once before the workers start, so the database (schema, keys, seeded
users) is created by one process only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from ..adapters.serving import quiet_uvicorn, serve_app

ENV_ARGV = "XAA_SERVE_ARGV"
MAX_WORKERS = 64
WORKER_LOG_FORMAT = "%(asctime)s %(process)d %(name)s %(message)s"

Build = Callable[[argparse.Namespace], Any]


def workers(value: str) -> int:
    """A worker count between 1 and :data:`MAX_WORKERS`."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"--workers must be between 1 and {MAX_WORKERS}")
    return count


def add_workers(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers N``."""
    parser.add_argument(
        "--workers",
        type=workers,
        default=1,
        metavar="N",
        help="worker processes (default 1); they share state through SQLite or Redis",
    )


def serve(
    args: argparse.Namespace,
    build: Build,
    *,
    name: str,
    host: str,
    port: int,
    log_level: str = "warning",
) -> None:
    """Build the app once, then serve it: in this process, or in ``args.workers``
    worker processes that each build their own with ``build``."""
    app = build(args)
    if args.workers == 1:
        serve_app(app, name=name, host=host, port=port, log_level=log_level)
        return
    os.environ[ENV_ARGV] = json.dumps(args.argv)
    serve_app(
        "xaa.cli._serving:worker_app",
        factory=True,
        name=name,
        host=host,
        port=port,
        workers=args.workers,
        log_level=log_level,
    )


def worker_app() -> Any:
    """Uvicorn factory run in each worker: the app of the parent's command line."""
    from . import build_parser

    args = build_parser().parse_args(json.loads(os.environ[ENV_ARGV]))
    logging.basicConfig(level=logging.INFO, format=WORKER_LOG_FORMAT)
    quiet_uvicorn()
    build: Build = args.build
    return build(args)
