"""`xaa token ...` subcommands."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add the subcommands of this module (none yet)."""
    del subparsers
