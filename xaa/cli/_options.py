"""Argument types shared by ``xaa`` subcommands: bad values fail while parsing, in one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._issuer import issuer_problem

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


def config_command(
    args: argparse.Namespace,
    template_text: Callable[[], str],
    check_file: Callable[[Any], list[str]],
    summary: Callable[[Any], str],
) -> int:
    """``xaa ... config --template | --check FILE`` of a reference app: the commented
    template on stdout, or each problem as ``FILE:LINE: message`` on stderr and exit
    status 2, or one ``FILE: OK (summary)`` line."""
    if args.template:
        print(template_text(), end="")
        return 0
    if print_problems(check_file(args.check)):
        return 2
    print(f"{args.check}: OK ({summary(args.check)})")
    return 0


def print_problems(problems: list[str]) -> bool:
    """Each problem of a configuration check on stderr, one ``FILE:LINE: message`` a line;
    whether there was any (the command then exits 2)."""
    for problem in problems:
        print(problem, file=sys.stderr)
    return bool(problems)


def issuer_url(value: str) -> str:
    """An ``--issuer``-like option: an issuer identifier (RFC 8414 §2), refused while
    parsing (one line, exit 2) instead of a server that refuses every token."""
    problem = issuer_problem(value)
    if problem is not None:
        shown = "the URL" if "@" in value else repr(value)
        raise argparse.ArgumentTypeError(f"{shown} {problem}")
    return value
