"""Printing helpers for the demo."""

from __future__ import annotations

import json
from typing import Any

from xaa import InvalidToken, parse_compact


def title(text: str) -> None:
    """A section heading."""
    print(f"\n{'=' * 72}\n{text}\n{'=' * 72}", flush=True)


def step(text: str, value: Any = None) -> None:
    """One hop, with what it carried."""
    print(f"\n-- {text}", flush=True)
    if value is not None:
        print(value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True))


def decoded(token: str) -> dict[str, Any]:
    """Header and claims of a JWT, for display (the library verifies; this only shows)."""
    jws = parse_compact(token, error=InvalidToken)
    return {"header": jws.header, "claims": jws.payload}


def abridged(token: str) -> str:
    """A token shortened for the screen."""
    return f"{token[:24]}...{token[-12:]} ({len(token)} chars)"
