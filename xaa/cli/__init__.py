"""The ``xaa`` command. Each role adds its subcommands from its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules with ``register(subparsers)``; each adds its own subcommands.
COMMAND_MODULES = (
    "xaa.cli.broker",
    "xaa.cli.conformance",
    "xaa.cli.core",
    "xaa.cli.idp",
    "xaa.cli.resource",
    "xaa.cli.token",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(prog="xaa", description="Cross App Access (ID-JAG) toolkit")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xaa`` console script."""
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
