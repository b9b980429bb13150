"""An :class:`~xaa.actors.ActorTokenProvider` reading a JWT-SVID that a workload agent refreshes.

The file (for example written by spiffe-helper) holds one compact JWT. It is
re-read when its modification time or size changes, or when the cached token
is within ``refresh_margin`` seconds of its ``exp``. The client does not verify
the token (the IdP does); it only refuses to send one that has expired.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .. import spec
from .._errors import OAuthError
from .._jose import parse_compact
from ..actors import ActorCredential, ActorTokenUnavailable

__all__ = [
    "FileActorTokenProvider",
]


class FileActorTokenProvider:
    """Actor tokens from ``path``, cached until the file changes or the token nears ``exp``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        token_type: str = spec.TOKEN_TYPE_JWT,
        refresh_margin: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.token_type = token_type
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._stamp: tuple[int, int] | None = None
        self._cached: tuple[str, int] | None = None

    def __repr__(self) -> str:
        return f"FileActorTokenProvider(path={str(self.path)!r})"

    def actor_credential(self) -> ActorCredential:
        """The token in the file now; raises :class:`ActorTokenUnavailable` if none is usable."""
        now = self._clock()
        try:
            stat = self.path.stat()
        except OSError:
            raise ActorTokenUnavailable(f"actor token file {self.path} is unreadable") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cached is None or stamp != self._stamp or self._near_expiry(now):
            self._cached, self._stamp = self._read(), stamp
        token, exp = self._cached
        if now >= exp:
            raise ActorTokenUnavailable(f"actor token in {self.path} has expired")
        return ActorCredential(token, self.token_type)

    def _near_expiry(self, now: float) -> bool:
        return self._cached is not None and now >= self._cached[1] - self.refresh_margin

    def _read(self) -> tuple[str, int]:
        try:
            token = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            raise ActorTokenUnavailable(f"actor token file {self.path} is unreadable") from None
        try:
            exp = parse_compact(token, error=OAuthError).payload.get("exp")
        except OAuthError:
            raise ActorTokenUnavailable(f"{self.path} does not hold a compact JWT") from None
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise ActorTokenUnavailable(f"the token in {self.path} has no integer exp")
        return token, exp
