"""``xaa version``: what this build implements."""

from __future__ import annotations

import argparse
from typing import Any

from .. import __version__, spec


def register(subparsers: Any) -> None:
    """Add ``xaa version``."""
    cmd = subparsers.add_parser("version", help="print the xaa version and the draft it implements")
    cmd.set_defaults(func=_version)


def _version(args: argparse.Namespace) -> int:
    del args
    print(f"xaa {__version__} ({spec.DRAFT})")
    return 0
