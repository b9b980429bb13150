"""Audit events are escaped and bounded when built; unauthenticated floods are aggregated."""

from __future__ import annotations

import json
import re

from xaa import AggregatingAuditSink, AuditEvent, MemoryAuditSink
from xaa._audit import MAX_FIELD_CHARS, MAX_REASON_CHARS, clean_text, client_address

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_newline_in_grant_type_cannot_forge_an_audit_line() -> None:
    event = AuditEvent(
        event="token.x\n2026-01-01T00:00:00 token.oidc issued",
        decision="denied",
        reason="invalid_request\r\nforged",
        requested_scope="a\u2028b",
        actors=["\x1b[31mred"],
        extra={"detail": "grant x\n not offered", "nested\n": {"k": ["\x00"]}},
    )
    for text in _strings(event.model_dump(mode="json")):
        assert not CONTROL.search(text), text
    assert event.event == "token.x\\x0a2026-01-01T00:00:00 token.oidc issued"
    assert event.reason == "invalid_request\\x0d\\x0aforged"
    assert event.requested_scope == "a\\u2028b"


def test_every_field_is_bounded() -> None:
    huge = "A" * 60_000
    event = AuditEvent(
        event=huge,
        decision="denied",
        reason=huge,
        issuer=huge,
        subject=huge,
        client_id=huge,
        audience=huge,
        actors=[huge] * 1000,
        requested_scope=huge,
        granted_scope=huge,
        requested_resource=[huge] * 1000,
        granted_resource=[huge] * 1000,
        jti=huge,
        extra={f"k{i}": huge for i in range(1000)} | {"deep": [[[[huge]]]]},
    )
    assert len(event.event) == MAX_FIELD_CHARS and event.event.endswith("…")
    assert len(event.reason) == MAX_REASON_CHARS
    assert len(event.actors) == 8
    assert event.extra.get("truncated") is True
    assert len(event.model_dump_json()) < 16_000  # a 60 KB value no longer makes a 60 KB row


def test_rows_read_back_are_sanitized_too() -> None:
    raw = json.dumps({"event": "x\ny", "decision": "denied", "reason": "r" * 5000})
    event = AuditEvent.model_validate_json(raw)
    assert event.event == "x\\x0ay" and len(event.reason) == MAX_REASON_CHARS


def test_clean_text_leaves_ordinary_text_alone() -> None:
    assert clean_text("invalid_grant: ID-JAG already used — ok ✓") == (
        "invalid_grant: ID-JAG already used — ok ✓"
    )
    assert clean_text("a" * MAX_FIELD_CHARS) == "a" * MAX_FIELD_CHARS
    assert clean_text("\n" * 300).startswith("\\x0a\\x0a")


def test_event_records_the_client_address_of_the_request() -> None:
    token = client_address.set("192.0.2.7")
    try:
        assert AuditEvent(event="e", decision="denied").client_address == "192.0.2.7"
    finally:
        client_address.reset(token)
    assert AuditEvent(event="e", decision="denied").client_address is None


# -- aggregation of unauthenticated denials ------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _denied(reason: str = "invalid_client: no credentials", **fields: object) -> AuditEvent:
    return AuditEvent(event="token", decision="denied", reason=reason, **fields)  # type: ignore[arg-type]


def test_unauthenticated_denials_are_counted_into_one_row_per_window() -> None:
    clock, memory = Clock(), MemoryAuditSink()
    sink = AggregatingAuditSink(memory, window=60, clock=clock)
    for i in range(500):
        sink.emit(_denied(f"invalid_client: attempt {i}", client_address="203.0.113.9"))
    assert len(memory.events) == 1  # the first, at once
    clock.now += 61
    sink.emit(_denied(client_address="203.0.113.9"))  # closes the window, opens the next
    assert len(memory.events) == 3
    summary = memory.events[1]
    assert summary.extra["repeated"] == 499
    assert summary.extra["window"] == [1_000.0, 1_060.0]
    assert summary.reason == "invalid_client: attempt 0"
    sink.flush()
    assert len(memory.events) == 3  # the new window had no repeats


def test_authenticated_decisions_are_never_aggregated() -> None:
    clock, memory = Clock(), MemoryAuditSink()
    sink = AggregatingAuditSink(memory, window=60, clock=clock)
    for _ in range(20):
        sink.emit(_denied("invalid_grant: ID-JAG already used", client_id="wiki"))
        sink.emit(AuditEvent(event="token", decision="issued"))
    assert len(memory.events) == 40


def test_addresses_and_reason_codes_are_separate_keys() -> None:
    clock, memory = Clock(), MemoryAuditSink()
    sink = AggregatingAuditSink(memory, window=60, clock=clock)
    for _ in range(3):
        sink.emit(_denied(client_address="198.51.100.1"))
        sink.emit(_denied(client_address="198.51.100.2"))
        sink.emit(_denied("invalid_request: x", client_address="198.51.100.1"))
    assert len(memory.events) == 3
    sink.flush()
    assert sorted(e.extra["repeated"] for e in memory.events[3:]) == [2, 2, 2]


def test_distinct_keys_are_bounded_by_an_overflow_key() -> None:
    clock, memory = Clock(), MemoryAuditSink()
    sink = AggregatingAuditSink(memory, window=60, max_keys=10, clock=clock)
    for i in range(1000):
        sink.emit(_denied(client_address=f"2001:db8::{i:x}"))
    assert len(memory.events) == 11  # ten keys and one overflow row
    sink.flush()
    assert memory.events[-1].extra["repeated"] == 1000 - 11


def test_a_closed_window_is_summarized_at_the_next_event_of_any_kind() -> None:
    clock, memory = Clock(), MemoryAuditSink()
    sink = AggregatingAuditSink(memory, window=60, clock=clock)
    for _ in range(3):
        sink.emit(_denied(client_address="203.0.113.9"))
    clock.now += 60
    sink.emit(AuditEvent(event="token", decision="issued", client_id="wiki"))
    assert [e.extra.get("repeated") for e in memory.events] == [None, 2, None]
