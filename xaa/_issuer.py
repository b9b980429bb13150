"""What an issuer identifier looks like (RFC 8414 §2, OpenID Connect Discovery §3): an
http(s) URL with a host, no query, no fragment, no userinfo. Checked where a deployer
types one (a configuration file, a command-line option), so a typo is one line at start
instead of a server that refuses every token."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["issuer_problem"]


def issuer_problem(value: str) -> str | None:
    """Why ``value`` is no issuer identifier, or ``None``. Never echoes userinfo."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return "is not an http(s) URL with a valid port"
    if "@" in parts.netloc:
        return "must not carry user:password@"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host, e.g. http://127.0.0.1:9400"
    if "?" in value or "#" in value:
        return "must have no query and no fragment"
    return None
