"""The vault hook: refresh tokens and client secrets at rest, one slot per (person, app).

The broker core sees only this :class:`Vault` Protocol; the ready
implementation (AES-GCM, SQLite or Redis) is :class:`xaa.adapters.broker.SecretVault`.
A slot's ciphertext is bound to ``(kind, subject, app, actor)``: a row copied
into another slot does not decrypt. ``get`` raises
:class:`~xaa.broker.VaultIntegrityError` on any failure to authenticate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

CLIENT_SUBJECT = "@client"  # the subject of an app's client secret slot


class SecretKind(StrEnum):
    """What a vault slot holds."""

    REFRESH_TOKEN = "refresh_token"
    CLIENT_SECRET = "client_secret"


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a secret lives: its kind, the person (or :data:`CLIENT_SUBJECT`) and the app."""

    kind: SecretKind
    subject: str
    app: str


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """A vaulted secret, the scopes it was granted and the agent that obtained it."""

    secret: str = field(repr=False)
    scopes: frozenset[str] = frozenset()
    actor: str | None = None


class Vault(Protocol):
    """Encrypted secret storage keyed by :class:`Slot`."""

    def put(self, slot: Slot, entry: VaultEntry) -> None:
        """Store (or replace) the secret of ``slot``."""
        ...

    def get(self, slot: Slot) -> VaultEntry | None:
        """The secret of ``slot``, ``None`` when absent; raises ``VaultIntegrityError``."""
        ...

    def delete(self, slot: Slot) -> bool:
        """Remove ``slot``; True when it existed."""
        ...

    def slots(self) -> list[tuple[Slot, str | None]]:
        """Every slot with the agent that obtained it (read without decrypting)."""
        ...
