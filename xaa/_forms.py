"""Form bodies and scope strings (RFC 6749 §3.1, §3.2, §3.3; RFC 8707 §2).

Request parameters MUST NOT be included more than once (RFC 6749 §3.1): a
repeated name is ``invalid_request``, except names the caller declares
repeatable (RFC 8707 lets ``resource`` repeat). A parameter sent without a
value is treated as omitted.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar, overload
from urllib.parse import quote, unquote, unquote_plus, urlencode

from ._errors import InvalidClient, InvalidRequest, InvalidScope

_T = TypeVar("_T")

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 64
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token


class Form(Mapping[str, str]):
    """A decoded form: one value per name, ``all()`` for repeatable names."""

    def __init__(self, values: Mapping[str, list[str]]) -> None:
        self._values = {k: list(v) for k, v in values.items() if v}

    def __getitem__(self, name: str) -> str:
        return self._values[name][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str | _T, /) -> str | _T: ...
    def get(self, name: str, default: object = None, /) -> object:
        """The value of ``name``, or ``default`` (without the generic ``Mapping.get``)."""
        values = self._values.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        """Every value of ``name`` (only repeatable names have more than one)."""
        return list(self._values.get(name, []))

    def __repr__(self) -> str:  # values may be secrets: names only
        return f"Form({sorted(self._values)})"


def _unquote(part: str) -> str:
    if "%" not in part and "+" not in part:  # tokens and most values: nothing to decode
        return part
    if len(part) <= 256:  # names and URNs repeat on every request
        return _unquote_short(part)
    return _decode(part)


def _decode(part: str) -> str:
    try:
        return unquote_plus(part, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest(detail="form body malformed") from None


_unquote_short = functools.lru_cache(maxsize=512)(_decode)


def _split_pairs(text: str) -> list[tuple[str, str]]:
    """``name=value`` pairs joined by ``&`` (WHATWG urlencoded parsing, strict UTF-8)."""
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((_unquote(name), _unquote(value)))
        if len(pairs) > MAX_FORM_FIELDS:
            raise InvalidRequest(detail="too many form fields")
    return pairs


def parse_form(body: bytes | str, *, repeatable: Iterable[str] = ("resource",)) -> Form:
    """Decode ``application/x-www-form-urlencoded``; repeated names are ``invalid_request``."""
    if isinstance(body, bytes):
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequest(detail="form body too large")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidRequest(detail="form body is not ASCII") from None
    else:
        text = body
    pairs = _split_pairs(text)
    allowed = frozenset(repeatable)
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in values and name not in allowed:
            raise InvalidRequest("A parameter is repeated.", detail=f"repeated {name[:40]}")
        seen = values.setdefault(name, [])
        if value:  # RFC 6749 §3.1: a parameter without a value is omitted
            seen.append(value)
    return Form(values)


def required_param(form: Mapping[str, str], name: str) -> str:
    """The value of ``name``, which the request must carry (RFC 6749 §5.2 ``invalid_request``:
    "missing a required parameter")."""
    value = form.get(name)
    if value is None:
        raise InvalidRequest(detail=f"{name} missing")
    return value


def encode_form(params: Mapping[str, str | Iterable[str] | None]) -> bytes:
    """Encode parameters; ``None`` is omitted, an iterable repeats the name."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, str):
            pairs.append((name, value))
        else:
            pairs.extend((name, item) for item in value)
    return urlencode(pairs).encode("ascii")


def parse_scope(
    value: str | None, *, error: type[InvalidRequest] | type[InvalidScope] = InvalidScope
) -> frozenset[str]:
    """Split a scope string into scope-tokens; malformed tokens raise ``error``."""
    if value is None or value == "":
        return frozenset()
    tokens = value.split(" ")
    if any(not _SCOPE_TOKEN.match(token) for token in tokens):
        raise error(detail="malformed scope")
    return frozenset(tokens)


def format_scope(scopes: Iterable[str]) -> str:
    """Join scopes in a stable (sorted) order."""
    return " ".join(sorted(set(scopes)))


def basic_credentials(header: str) -> tuple[str, str]:
    """Decode an RFC 7617 Basic header; both parts are percent-decoded (RFC 6749 §2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidClient(detail="not Basic credentials")
    try:
        # A non-ASCII byte makes b64decode raise a bare ValueError (binascii.Error is one too).
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:
        raise InvalidClient(detail="Basic credentials malformed") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise InvalidClient(detail="Basic credentials malformed")
    return user, password


def basic_header(client_id: str, secret: str) -> str:
    """An RFC 6749 §2.3.1 Basic header (form-urlencoded id and secret)."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def form_unquote(value: str) -> str:
    """Undo the form-urlencoding RFC 6749 §2.3.1 applies to Basic credentials."""
    return unquote(value.replace("+", " "))
