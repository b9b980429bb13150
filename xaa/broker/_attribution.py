"""Attribution: who acted (person, agent), on which app, how, with which scopes.

Every mint and every revocation is one :class:`MintRecord`. A token is
identified by its fingerprint (SHA-256, truncated), never by its bytes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

FINGERPRINT_BYTES = 12


def token_fingerprint(token: str) -> str:
    """A short, one-way identifier of ``token``: ``sha256:`` + base64url of 12 digest bytes."""
    digest = hashlib.sha256(token.encode()).digest()[:FINGERPRINT_BYTES]
    return "sha256:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class MintRecord:
    """One attributable event; ``fingerprint`` is empty for revocations."""

    time: float
    event: Literal["mint", "revoke"]
    person: str
    agent: str | None
    app: str
    strategy: str
    requested_scopes: tuple[str, ...] = ()
    granted_scopes: tuple[str, ...] = ()
    fingerprint: str = ""
    expires_at: float | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON object (lists for the scope tuples)."""
        out = asdict(self)
        out["requested_scopes"] = list(self.requested_scopes)
        out["granted_scopes"] = list(self.granted_scopes)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MintRecord:
        """Rebuild a record written by :meth:`to_json`."""
        values = dict(data)
        values["requested_scopes"] = tuple(values.get("requested_scopes", ()))
        values["granted_scopes"] = tuple(values.get("granted_scopes", ()))
        return cls(**values)


class AttributionLog(Protocol):
    """Where mint records go; append-only."""

    def append(self, record: MintRecord) -> None:
        """Keep ``record``."""
        ...

    def records(self) -> list[MintRecord]:
        """Every record, oldest first."""
        ...


@dataclass
class MemoryAttributionLog:
    """Records in a list (tests, demos)."""

    entries: list[MintRecord] = field(default_factory=list)

    def append(self, record: MintRecord) -> None:
        self.entries.append(record)

    def records(self) -> list[MintRecord]:
        return list(self.entries)
