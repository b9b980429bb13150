"""Untrusted JSON, bounded: the one parser for every JSON document xaa reads.

RFC 8259 §9 lets a parser limit the size and the nesting depth of what it
accepts; RFC 7515 §5.2 and RFC 7519 §7.2 want duplicate member names refused.
:func:`parse_json` does all of that before and after handing the text to the
standard library, so no input reaches the recursive decoder deeper than
``max_depth`` (no ``RecursionError``) and no string comes back that UTF-8
cannot encode (a lone surrogate such as ``"\\ud800"`` would fail later, in a
database or a log). Every refusal is :class:`JsonRejected` (a
:class:`~xaa.MalformedEncoding`, so a ``ValueError`` too).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import MalformedEncoding

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "JsonRejected", "parse_json", "parse_json_object"]

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024

_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JsonRejected(MalformedEncoding):
    """The text is not JSON this parser accepts (malformed, too big, too deep)."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise JsonRejected("duplicate JSON member")
    return obj


def _reject_constant(name: str) -> Any:
    raise JsonRejected(f"non-JSON constant {name}")


_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than ``max_depth`` (brackets in strings skipped)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _unencodable(value: Any) -> bool:
    """Whether a decoded value holds a string UTF-8 cannot encode (a lone surrogate)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(
    data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """Decode UTF-8 JSON within ``max_bytes`` and ``max_depth``; anything else is refused."""
    if len(data) > max_bytes:
        raise JsonRejected(f"JSON longer than {max_bytes} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonRejected("JSON is not UTF-8") from None
    else:
        text = data
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonRejected("JSON text with a lone surrogate") from None
    if _too_deep(text, max_depth):
        raise JsonRejected(f"JSON nested deeper than {max_depth}")
    try:
        value = _DECODER.decode(text)
    except JsonRejected:
        raise
    except (ValueError, RecursionError):
        raise JsonRejected("not JSON") from None
    if _SURROGATE_ESCAPE.search(text) and _unencodable(value):
        raise JsonRejected("JSON string with a lone surrogate")
    return value


def parse_json_object(
    data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> dict[str, Any]:
    """:func:`parse_json`, and the value must be an object."""
    value = parse_json(data, max_depth=max_depth, max_bytes=max_bytes)
    if not isinstance(value, dict):
        raise JsonRejected("not a JSON object")
    return value
