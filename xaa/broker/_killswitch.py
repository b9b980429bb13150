"""The kill switch: revoke everything for a person, an agent or an app.

A :class:`RevocationTarget` names what is revoked. The broker keeps targets
in a :class:`RevocationList`; every later request for a covered
(person, agent, app) fails closed with :class:`~xaa.broker.Revoked`
until the target is lifted. What else happens (vault slots deleted, RFC 7009
calls, cache dropped) is decided here, performed by the driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from .._errors import ConfigurationError
from ._vault import CLIENT_SUBJECT, Slot

TargetKind = Literal["person", "agent", "app"]
TARGET_KINDS: tuple[TargetKind, ...] = ("person", "agent", "app")


@dataclass(frozen=True, slots=True)
class RevocationTarget:
    """``kind`` is ``person``, ``agent`` or ``app``; ``value`` its name."""

    kind: TargetKind
    value: str

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS or not self.value:
            raise ConfigurationError("a revocation target is a person, an agent or an app, by name")

    def covers(self, person: str, agent: str | None, app: str) -> bool:
        """True when a request by ``agent`` for ``person`` at ``app`` falls under this target."""
        if self.kind == "person":
            return person == self.value
        if self.kind == "agent":
            return agent == self.value
        return app == self.value

    def covers_slot(self, slot: Slot, actor: str | None) -> bool:
        """True when the vault slot must be deleted (client secrets survive all but nothing)."""
        if slot.subject == CLIENT_SUBJECT:
            return False
        return self.covers(slot.subject, actor, slot.app)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class RevocationList(Protocol):
    """Persistent set of active revocation targets."""

    def add(self, target: RevocationTarget, at: float) -> None:
        """Revoke ``target`` from ``at`` on."""
        ...

    def remove(self, target: RevocationTarget) -> bool:
        """Lift ``target``; True when it was active."""
        ...

    def targets(self) -> list[RevocationTarget]:
        """Every active target."""
        ...


@dataclass
class MemoryRevocationList:
    """Targets in a set (tests, demos)."""

    active: set[RevocationTarget] = field(default_factory=set)

    def add(self, target: RevocationTarget, at: float) -> None:
        self.active.add(target)

    def remove(self, target: RevocationTarget) -> bool:
        found = target in self.active
        self.active.discard(target)
        return found

    def targets(self) -> list[RevocationTarget]:
        return sorted(self.active, key=str)


def covering(
    targets: list[RevocationTarget], person: str, agent: str | None, app: str
) -> RevocationTarget | None:
    """The first active target covering the request, else ``None``."""
    for target in targets:
        if target.covers(person, agent, app):
            return target
    return None
