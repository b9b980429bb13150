"""Audit events: one per decision, issued or denied; never a token.

Servers emit :class:`AuditEvent` to an :class:`AuditSink` the deployer
provides. Token values never appear; ``jti`` and thumbprints identify tokens.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


class AuditEvent(BaseModel):
    """Who asked for what, what was decided and why."""

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
    extra: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class AuditSink(Protocol):
    """Receives every audit event; must not raise."""

    def emit(self, event: AuditEvent) -> None:
        """Record ``event``."""
        ...


class MemoryAuditSink:
    """Keeps events in a list (tests, demos)."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)
