"""Check a TOML configuration against a pydantic model: every problem with its line.

Three passes, each only when the previous one succeeded: TOML syntax (the line
comes from :mod:`tomllib`), the schema (unknown keys, types, ranges, the model's
own validators), and the cross-references the caller adds (names that must
exist or be unique across tables). Each problem names the key path and, where
the file has it, the line of that key or of its table. Used by
``xaa idp config --check`` and ``xaa broker config --check``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

__all__ = [
    "PLACEHOLDER",
    "Path_",
    "Problem",
    "check_model_file",
    "check_model_text",
    "dotted",
    "key_lines",
    "placeholders",
]

M = TypeVar("M", bound=BaseModel)

Path_ = tuple[str | int, ...]
# What a configuration template marks for the deployer to replace: a file still holding it
# is refused (a template's passwords and secrets are public).
PLACEHOLDER = "CHANGE ME"
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


def dotted(path: Path_) -> str:
    """``("policy", "grants", 1, "client")`` -> ``policy.grants[1].client``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


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
    return Problem(line_of(path, lines), f"{where}{separator}{message}")


def line_of(path: Path_, lines: dict[Path_, int]) -> int | None:
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


def check_model_text(
    text: str,
    model: type[M],
    references: Callable[[M], list[tuple[Path_, str]]] | None = None,
) -> list[Problem]:
    """Every problem of ``text`` as a ``model``; empty when it loads and is consistent."""
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
        config = model.model_validate(data)
    except ValidationError as exc:
        return [_schema_problem(error, lines) for error in exc.errors()]
    found_refs = placeholders(config) + (references(config) if references is not None else [])
    return [Problem(line_of(path, lines), f"{dotted(path)}: {m}") for path, m in found_refs]


def placeholders(value: object, path: Path_ = ()) -> list[tuple[Path_, str]]:
    """Every string of a loaded configuration that still holds :data:`PLACEHOLDER`."""
    if isinstance(value, BaseModel):
        return [
            found
            for name in type(value).model_fields
            for found in placeholders(getattr(value, name), (*path, name))
        ]
    if isinstance(value, list | tuple):
        return [found for i, item in enumerate(value) for found in placeholders(item, (*path, i))]
    if isinstance(value, dict):
        return [found for k, item in value.items() for found in placeholders(item, (*path, k))]
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str) and PLACEHOLDER in value:
        return [(path, f"still {PLACEHOLDER!r}: replace it")]
    return []


def check_model_file(
    path: str | Path,
    model: type[M],
    references: Callable[[M], list[tuple[Path_, str]]] | None = None,
) -> list[str]:
    """Rendered problems of the file at ``path`` (reading errors included)."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:  # "No such file or directory", "Permission denied", ...
        return [f"{path}: cannot read: {exc.strerror or exc.__class__.__name__}"]
    except UnicodeDecodeError as exc:
        return [f"{path}: cannot read: not UTF-8 text (byte {exc.start})"]
    return [problem.render(str(path)) for problem in check_model_text(text, model, references)]
