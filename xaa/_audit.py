"""Audit events: one per decision, issued or denied; never a token.

Servers emit :class:`AuditEvent` to an :class:`AuditSink` the deployer
provides. Token values never appear; ``jti`` and thumbprints identify tokens.

Much of an event comes from unauthenticated callers (a ``grant_type``, a
scope, an error detail quoting the request). Every event is therefore bounded
and escaped when it is built (:func:`clean_text`, applied to every field): no
control character (a newline would forge a line in ``xaa idp audit`` or a log),
no Unicode line separator or bidi override, no field longer than its bound.
:class:`AggregatingAuditSink` bounds how many rows such callers can cause.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._replay import never_blocks

MAX_FIELD_CHARS = 256
MAX_REASON_CHARS = 512
MAX_LIST_ITEMS = 8
MAX_EXTRA_CHARS = 2048
MAX_KEY_CHARS = 64
ELLIPSIS = "…"

# C0, DEL, C1, line/paragraph separators, bidi marks, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LIMITS = {"reason": MAX_REASON_CHARS}
_LISTS = ("actors", "requested_resource", "granted_resource")

# The network address of the caller of the request being handled, set by the adapter
# (xaa.adapters.starlette.AuditAddressMiddleware); new events record it.
client_address: ContextVar[str | None] = ContextVar("xaa_audit_client_address", default=None)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(value: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``value`` with unsafe characters escaped (``\\x0a``) and cut to ``limit`` characters
    (the cut ends in ``…``)."""
    if len(value) <= limit and value.isascii() and value.isprintable():
        return value  # nothing to escape or cut (ASCII controls are not printable)
    head = value[: limit + 1]
    escaped = _UNSAFE.sub(_escape, head)
    if len(escaped) <= limit and len(value) <= limit:
        return escaped
    return escaped[: limit - 1] + ELLIPSIS


def _clean_json(value: Any, depth: int = 0) -> Any:
    """A JSON-like value with every string cleaned and every container bounded."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 3:
        return ELLIPSIS
    if isinstance(value, dict):
        items = list(value.items())[: MAX_LIST_ITEMS * 2]
        return {clean_text(str(k), MAX_KEY_CHARS): _clean_json(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [_clean_json(v, depth + 1) for v in list(value)[:MAX_LIST_ITEMS]]
    return clean_text(str(value))


def _surely_fits(cleaned: dict[str, Any]) -> bool:
    """Whether a flat ``extra`` of short scalars serializes within :data:`MAX_EXTRA_CHARS`
    whatever JSON escapes (at most 6 characters per character), without serializing it."""
    bound = 2
    for key, value in cleaned.items():
        if isinstance(value, str):
            bound += 6 * (len(key) + len(value)) + 8
        elif value is None or isinstance(value, bool):
            bound += 6 * len(key) + 12
        elif isinstance(value, int):
            bound += 6 * len(key) + len(str(value)) + 8
        else:
            return False
    return bound <= MAX_EXTRA_CHARS


def _clean_extra(extra: Any) -> Any:
    """``extra`` cleaned, and whole members dropped past :data:`MAX_EXTRA_CHARS`."""
    if not isinstance(extra, dict):
        return extra  # pydantic refuses it
    cleaned = _clean_json(extra)
    if _surely_fits(cleaned):
        return cleaned
    # The members' sizes as measured below add up to the size of the whole object.
    if len(json.dumps(cleaned, default=str)) <= MAX_EXTRA_CHARS:
        return cleaned
    out: dict[str, Any] = {}
    used = 0
    for key, value in cleaned.items():
        size = len(json.dumps({key: value}, default=str))
        if used + size > MAX_EXTRA_CHARS:
            out["truncated"] = True
            break
        out[key] = value
        used += size
    return out


@dataclass
class AuditTrace:
    """What the audit event of one token request will say, filled in step by step by an
    endpoint (IdP token exchange, resource AS jwt-bearer) and rendered by :meth:`event`."""

    client_id: str | None = None
    attempted_client_id: str | None = None  # invalid_client: who the caller claimed to be
    issuer: str | None = None
    subject: str | None = None
    audience: str | None = None
    jti: str | None = None
    actors: list[str] = field(default_factory=list)
    requested_scope: str | None = None
    requested_resource: list[str] = field(default_factory=list)

    def event(self, event: str, decision: Literal["issued", "denied"], **fields: Any) -> AuditEvent:
        """The :class:`AuditEvent` of this request: the traced fields, then ``fields``
        (which win)."""
        traced: dict[str, Any] = {
            "client_id": self.client_id,
            "issuer": self.issuer,
            "subject": self.subject,
            "audience": self.audience,
            "jti": self.jti,
            "actors": self.actors,
            "requested_scope": self.requested_scope,
            "requested_resource": self.requested_resource,
        }
        return AuditEvent(event=event, decision=decision, **(traced | fields))

    def attempted(self) -> dict[str, Any]:
        """``{"attempted_client_id": ...}`` for a refused client authentication, else ``{}``."""
        if self.attempted_client_id is None:
            return {}
        return {"attempted_client_id": self.attempted_client_id}


class AuditEvent(BaseModel):
    """Who asked for what, what was decided and why (every field bounded and escaped)."""

    model_config = ConfigDict(frozen=True)
    time: float = Field(default_factory=time.time)
    event: str
    decision: Literal["issued", "denied"]
    reason: str = ""
    issuer: str | None = None
    subject: str | None = None
    client_id: str | None = None
    audience: str | None = None
    actors: list[str] = Field(default_factory=list)
    requested_scope: str | None = None
    granted_scope: str | None = None
    requested_resource: list[str] = Field(default_factory=list)
    granted_resource: list[str] = Field(default_factory=list)
    jti: str | None = None
    client_address: str | None = Field(default_factory=lambda: client_address.get())
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        """The one sanitizer: every string escaped and bounded, every list and ``extra`` too."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, value in data.items():
            if isinstance(value, str) and name != "decision":
                out[name] = clean_text(value, _LIMITS.get(name, MAX_FIELD_CHARS))
            elif name in _LISTS and isinstance(value, list | tuple):
                items = list(value)[:MAX_LIST_ITEMS]
                out[name] = [clean_text(v) if isinstance(v, str) else v for v in items]
            elif name == "extra":
                out[name] = _clean_extra(value)
        return out


@runtime_checkable
class AuditSink(Protocol):
    """Receives every audit event; must not raise."""

    def emit(self, event: AuditEvent) -> None:
        """Record ``event``."""
        ...


class MemoryAuditSink:
    """Keeps events in a list (tests, demos)."""

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)


@dataclass
class _Bucket:
    first: AuditEvent
    start: float
    repeated: int = 0


def reason_code(reason: str) -> str:
    """The error code of a reason (``"invalid_client: detail"`` -> ``"invalid_client"``)."""
    return reason.split(":", 1)[0].strip()[:MAX_KEY_CHARS]


class AggregatingAuditSink:
    """Bounds the rows unauthenticated callers can cause; passes everything else through.

    A denial with no authenticated ``client_id`` is keyed on ``(event, reason code,
    client address)``. The first of a key in a ``window`` (seconds) is written at once;
    repeats are only counted, and one summary row (the first event, ``extra.repeated``
    the count, ``extra.window`` its bounds) is written when the window has passed (at
    the next event of any kind) or on :meth:`flush` (call it at shutdown). At most
    ``max_keys`` keys are tracked: past that, new keys share one overflow key per
    event. Every decision about an authenticated client, and every issuance, is
    written as it comes.
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        window: float = 60.0,
        max_keys: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[tuple[str, str, str | None], _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def never_blocks(self) -> bool:
        """Whether the wrapped sink answers without blocking (:func:`xaa._replay.never_blocks`)."""
        return never_blocks(self.sink)

    def emit(self, event: AuditEvent) -> None:
        now = self._clock()
        with self._lock:
            summaries = self._expire(now)
        for summary in summaries:
            self.sink.emit(summary)
        if event.decision != "denied" or event.client_id is not None:
            self.sink.emit(event)
            return
        with self._lock:
            key = (event.event, reason_code(event.reason), event.client_address)
            if key not in self._buckets and len(self._buckets) >= self.max_keys:
                key = (event.event, "overflow", None)
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = _Bucket(event, now)
            else:
                bucket.repeated += 1
        if bucket is None:
            self.sink.emit(event)

    def flush(self) -> None:
        """Write the summary of every open window now (call at shutdown)."""
        with self._lock:
            summaries = self._expire(float("inf"))
        for summary in summaries:
            self.sink.emit(summary)

    def _expire(self, now: float) -> list[AuditEvent]:
        done = []
        for key, bucket in self._buckets.items():  # oldest first: stop at the first open one
            if now < bucket.start + self.window:
                break
            done.append(key)
        summaries = []
        for key in done:
            bucket = self._buckets.pop(key)
            if bucket.repeated:
                end = min(now, bucket.start + self.window)
                summaries.append(
                    bucket.first.model_copy(
                        update={
                            "time": end,
                            "extra": {
                                **bucket.first.extra,
                                "repeated": bucket.repeated,
                                "window": [bucket.start, end],
                            },
                        }
                    )
                )
        return summaries
