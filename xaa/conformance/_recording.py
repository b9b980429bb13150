"""What each case sent and what came back, for the reports a person reads (tokens redacted).

:class:`RecordingTransport` wraps the suite's ``httpx`` transport; the runner starts a
fresh list per case and keeps it on the case's :class:`~xaa.conformance.Result`
when the case failed. Every JWT, secret and token-bearing parameter or header is
replaced before anything is stored: a report can be attached to a ticket.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

MAX_BODY = 2000
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}")
_SECRET_NAMES = frozenset(
    {
        "assertion",
        "client_assertion",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "subject_token",
        "actor_token",
        "code",
        "code_verifier",
        "password",
        "issued_token",
    }
)
_SECRET_HEADERS = frozenset({"authorization", "dpop", "cookie", "set-cookie"})


def redact(text: str) -> str:
    """``text`` with every JWT-shaped value replaced by ``[JWT, N chars]``."""
    return _JWT.sub(lambda m: f"[JWT, {len(m.group(0))} chars]", text)


def _redact_value(name: str, value: str) -> str:
    if name.lower() in _SECRET_NAMES:
        return f"[redacted, {len(value)} chars]"
    return redact(value)


def redact_url(url: str) -> str:
    """A URL with token-bearing query or fragment parameters (``code``, tokens) replaced."""
    parts = urlsplit(url)
    if not parts.query and not parts.fragment:
        return redact(url)

    def clean(query: str) -> str:
        pairs = parse_qsl(query, keep_blank_values=True)
        return "&".join(f"{k}={_redact_value(k, v)}" for k, v in pairs)

    return redact(
        urlunsplit(parts._replace(query=clean(parts.query), fragment=clean(parts.fragment)))
    )


def redact_body(body: bytes, content_type: str) -> str:
    """A request or response body for a report: secrets replaced, at most ``MAX_BODY`` chars."""
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            text = json.dumps(
                {k: _redact_value(k, v) if isinstance(v, str) else v for k, v in data.items()},
                indent=1,
            )
            text = redact(text)
    elif "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(text, keep_blank_values=True)  # one decoded parameter a line
        text = "\n".join(f"{k}={_redact_value(k, v)}" for k, v in pairs)
    else:
        text = redact(text)
    return text if len(text) <= MAX_BODY else text[:MAX_BODY] + f"... ({len(text)} chars)"


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    """Headers for a report: credentials keep their scheme only."""
    out = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme = value.partition(" ")[0] if " " in value else ""
            out[name] = f"{scheme} [redacted]".strip()
        elif name.lower() == "location":
            out[name] = redact_url(value)
        else:
            out[name] = redact(value)
    return out


@dataclass(frozen=True)
class Exchange:
    """One HTTP request of a case and its answer, redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_body,
            },
        }


class Recorder:
    """The exchanges of the case running now."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def start(self) -> None:
        """A new case begins."""
        self.exchanges = []

    def take(self) -> tuple[Exchange, ...]:
        """The exchanges of the case that just ended."""
        taken, self.exchanges = tuple(self.exchanges), []
        return taken


class RecordingTransport(httpx.BaseTransport):
    """An ``httpx`` transport that records every exchange (redacted) in a :class:`Recorder`."""

    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and record it with its answer."""
        sent = redact_body(request.read(), request.headers.get("content-type", ""))
        url = redact_url(str(request.url))
        try:
            response = self.inner.handle_request(request)
        except httpx.HTTPError:
            self.recorder.exchanges.append(
                Exchange(request.method, url, redact_headers(request.headers), sent, None)
            )
            raise
        body = response.read()
        self.recorder.exchanges.append(
            Exchange(
                request.method,
                url,
                redact_headers(request.headers),
                sent,
                response.status_code,
                redact_headers(response.headers),
                redact_body(body, response.headers.get("content-type", "")),
            )
        )
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
