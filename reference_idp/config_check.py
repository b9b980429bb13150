"""``xaa idp config --check FILE``: every problem of a configuration file, with its line.

Three passes, each only when the previous one succeeded: TOML syntax (the line
comes from :mod:`tomllib`), the schema of :class:`~reference_idp.config.IdpConfig`
(unknown keys, types, ranges, the policy's own consistency rules), and the
cross-references the schema cannot see (a grant for a client that is not
configured, duplicate users). Each problem names the key path and, where the
file has it, the line of that key or of its table.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xaa import spec

from .config import IdpConfig

__all__ = ["Problem", "check_file", "check_text", "key_lines", "template_text"]

Path_ = tuple[str | int, ...]
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")
_INDEX_IN_MESSAGE = re.compile(r"^(\w+)\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One error: the 1-based line (``None`` when unknown) and the message."""

    line: int | None
    message: str

    def render(self, file: str) -> str:
        """``FILE:LINE: message`` (``FILE: message`` without a line)."""
        return f"{file}:{self.line}: {self.message}" if self.line else f"{file}: {self.message}"


def template_text() -> str:
    """The commented starting configuration (``xaa idp config --template``)."""
    return resources.files("reference_idp").joinpath("template.toml").read_text("utf-8")


def dotted(path: Path_) -> str:
    """``("policy", "grants", 1, "client")`` -> ``policy.grants[1].client``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_text(text: str) -> list[Problem]:
    """Every problem of the configuration ``text``; empty when it loads and is consistent."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        line = None
        if found is not None:
            line = int(found.group(1)) if found.group(1) else text.count("\n") + 1
            message = message[: found.start()]
        return [Problem(line, f"TOML syntax: {message}")]
    lines = key_lines(text)
    try:
        config = IdpConfig.model_validate(data)
    except ValidationError as exc:
        return [_schema_problem(error, lines) for error in exc.errors()]
    return [Problem(_line(path, lines), f"{dotted(path)}: {m}") for path, m in _references(config)]


def _schema_problem(error: Any, lines: dict[Path_, int]) -> Problem:
    path: Path_ = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    elif error["type"] == "missing":
        message = "required key is missing"
    # A policy rule names the offending entry itself: "grants[1] (client 'wiki'): ...".
    named = _INDEX_IN_MESSAGE.match(message)
    if named is not None:
        path = (*path, named.group(1), int(named.group(2)))
        message = message[named.end() :].lstrip().removeprefix(":").lstrip()
    where = dotted(path) or "(top level)"
    separator = " " if message.startswith("(") else ": "
    return Problem(_line(path, lines), f"{where}{separator}{message}")


def _references(config: IdpConfig) -> list[tuple[Path_, str]]:
    """What the schema cannot check: names that must exist or be unique across tables."""
    found: list[tuple[Path_, str]] = []
    clients = [c.client_id for c in config.clients]
    for field, names in (("users", [u.username for u in config.users]), ("clients", clients)):
        key = "username" if field == "users" else "client_id"
        for i, name in enumerate(names):
            if name in names[:i]:
                found.append(((field, i, key), f"{name!r} is configured twice"))
    for i, grant in enumerate(config.policy.grants):
        if grant.client not in clients:
            found.append(
                (("policy", "grants", i, "client"), f"{grant.client!r} is no [[clients]] client_id")
            )
    for alg in config.dpop.algs:
        if alg not in spec.SUPPORTED_ALGS:
            found.append((("dpop", "algs"), f"unsupported algorithm {alg!r}"))
    if config.saml is not None:
        for i, sp in enumerate(config.saml.service_providers):
            if sp.client_id not in clients:
                path: Path_ = ("saml", "service_providers", i, "client_id")
                found.append((path, f"{sp.client_id!r} is no [[clients]] client_id"))
        if config.saml.name_id_format == "email":
            emails = [u.email for u in config.users]
            for i, email in enumerate(emails):
                if email is None or email in emails[:i]:
                    found.append(
                        (("users", i, "email"), "NameID format email needs a unique email per user")
                    )
    return found


def _line(path: Path_, lines: dict[Path_, int]) -> int | None:
    """The line of ``path``, else of its closest enclosing key or table."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def key_lines(text: str) -> dict[Path_, int]:
    """Where each key and table of a TOML document starts, by concrete path.

    ``[[a.b]]`` elements get their index (``("a", "b", 0)``); a key inside a
    multi-line array or inline table is attributed to the key that opens it.
    """
    lines: dict[Path_, int] = {}
    arrays: dict[tuple[str, ...], int] = {}
    table: Path_ = ()
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        code = _without_comment(raw).strip()
        if depth > 0:
            depth += _bracket_balance(code)
            continue
        if not code:
            continue
        header = re.fullmatch(r"\[\[\s*(.+?)\s*\]\]|\[\s*(.+?)\s*\]", code)
        if header is not None:
            parts = _split_key(header.group(1) or header.group(2))
            if header.group(1):
                arrays[parts] = arrays.get(parts, -1) + 1
                for nested in [
                    k for k in arrays if len(k) > len(parts) and k[: len(parts)] == parts
                ]:
                    del arrays[nested]
                table = (*_concrete(parts[:-1], arrays), parts[-1], arrays[parts])
            else:
                table = _concrete(parts, arrays)
            lines.setdefault(table, number)
            continue
        key, sep, value = code.partition("=")
        if sep:
            lines.setdefault((*table, *_split_key(key)), number)
            depth = max(0, _bracket_balance(value))
    return lines


def _concrete(parts: tuple[str, ...], arrays: dict[tuple[str, ...], int]) -> Path_:
    out: list[str | int] = []
    for i, part in enumerate(parts):
        out.append(part)
        if parts[: i + 1] in arrays:
            out.append(arrays[parts[: i + 1]])
    return tuple(out)


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in key.split("."))


def _without_comment(line: str) -> str:
    quote = None
    for i, char in enumerate(line):
        if quote is None and char == "#":
            return line[:i]
        if char in "\"'" and (quote is None or quote == char):
            quote = None if quote == char else char
    return line


def _bracket_balance(code: str) -> int:
    balance, quote = 0, None
    for char in code:
        if char in "\"'" and (quote is None or quote == char):
            quote = None if quote == char else char
        elif quote is None:
            balance += (char in "[{") - (char in "]}")
    return balance


def check_file(path: str | Path) -> list[str]:
    """Rendered problems of the file at ``path`` (reading errors included)."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read: {exc.__class__.__name__}"]
    return [problem.render(str(path)) for problem in check_text(text)]
