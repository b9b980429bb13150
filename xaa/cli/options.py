"""Argument types shared by ``xaa`` subcommands: bad values fail while parsing, in one line."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

REPLAY_SCHEMES = ("redis", "rediss", "unix")


def db_path(value: str) -> str:
    """A SQLite file whose folder exists (``:memory:`` too)."""
    if value != ":memory:" and not Path(value).expanduser().resolve().parent.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: the folder does not exist")
    return value


def replay_store(value: str) -> str:
    """``memory``, ``sqlite`` or a ``redis://``, ``rediss://`` or ``unix://`` URL."""
    if value in ("memory", "sqlite"):
        return value
    scheme = urlsplit(value).scheme
    if scheme not in REPLAY_SCHEMES or "://" not in value:
        raise argparse.ArgumentTypeError(
            f"{scheme + '://' if scheme else repr(value)} is not a replay store:"
            " use memory, sqlite or a redis:// URL"
        )
    return value
