"""The ``xaa`` command. Each role adds its subcommands from its own module.

Bad input never prints a traceback: argument errors and the typed errors of
:func:`describe` become one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._errors import ConfigurationError
from .._keys import RotationRefused, UnusableKey
from .._replay import ReplayStoreUnavailable
from ..adapters._extras import needs_extra

# Modules with ``register(subparsers)``; each adds its own subcommands.
COMMAND_MODULES = (
    "xaa.cli._broker",
    "xaa.cli._conformance",
    "xaa.cli._core",
    "xaa.cli._idp",
    "xaa.cli._resource",
    "xaa.cli._token",
)
USAGE_ERROR = 2
__all__ = ["build_parser", "describe", "main"]
# The reference apps ship in the wheel beside the library; imported lazily, by the
# ``xaa idp``, ``xaa resource`` and ``xaa broker`` commands only (docs/architecture.md).
REFERENCE_APPS = ("reference_idp", "reference_resource", "reference_broker")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``xaa idp serve: argument ...``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = OneLineParser(prog="xaa", description="Cross App Access (ID-JAG) toolkit")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def describe(exc: BaseException) -> str | None:
    """One line for an error caused by the user's input or environment; ``None`` for a bug."""
    if isinstance(exc, ConfigurationError | RotationRefused | UnusableKey):
        return str(exc)
    app = (exc.name or "").partition(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    if app in REFERENCE_APPS:
        return (
            f"{app} is not importable: the reference apps ship with xaa; "
            "reinstall it: pip install 'xaa[reference]'"
        )
    if isinstance(exc, ModuleNotFoundError) and exc.name and app != "xaa":
        # Only the reference apps are imported lazily, after the parser (docs/install.md).
        return needs_extra("this command", "reference", exc.name)
    if isinstance(exc, ReplayStoreUnavailable):
        return f"replay store: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, sqlite3.Error):
        return f"database: {exc}"
    try:
        import httpx
    except ImportError:  # pragma: no cover - the client extra is not installed
        return None
    if isinstance(exc, httpx.TransportError):
        try:
            where = f"{exc.request.method} {exc.request.url}"
        except RuntimeError:
            where = "the server"
        return f"cannot reach {where}: {exc or type(exc).__name__}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xaa`` console script."""
    try:
        parser = build_parser()
    except ModuleNotFoundError as exc:  # installed without the server extra (docs/install.md)
        if (exc.name or "xaa").partition(".")[0] in ("xaa", *REFERENCE_APPS):
            raise
        print(f"xaa: {needs_extra('the xaa command', 'server', exc.name)}", file=sys.stderr)
        return USAGE_ERROR
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # --workers re-parses it
    try:
        result = args.func(args)
    except Exception as exc:
        line = describe(exc)
        if line is None:
            raise
        words = [v for k, v in vars(args).items() if k == "command" or k.endswith("_command")]
        print(f"xaa {' '.join(words)}: {' '.join(line.splitlines())}", file=sys.stderr)
        return USAGE_ERROR
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
