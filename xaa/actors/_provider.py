"""The client's source of actor tokens: a hook the token exchange calls before each request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .. import spec
from .._errors import XaaError


class ActorTokenUnavailable(XaaError):
    """No usable actor token right now (missing, unreadable or expired); never carries it."""


@dataclass(frozen=True, slots=True)
class ActorCredential:
    """An ``actor_token`` with its ``actor_token_type``; the token never shows in ``repr``."""

    token: str = field(repr=False)
    token_type: str = spec.TOKEN_TYPE_JWT


@runtime_checkable
class ActorTokenProvider(Protocol):
    """Returns a current actor token or raises :class:`ActorTokenUnavailable`."""

    def actor_credential(self) -> ActorCredential:
        """The actor token to send now."""
        ...
