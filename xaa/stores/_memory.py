"""In-process stores: fast, lost on restart, not shared between processes."""

from __future__ import annotations

import threading

from .._replay import ReplayStoreUnavailable


class MemoryReplayStore:
    """A :class:`~xaa.ReplayStore` in a dict, guarded by a lock."""

    never_blocks = True  # in memory: async servers call it on the event loop

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._entries: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def claim(
        self, namespace: str, issuer: str, jti: str, *, holder: str, expires_at: float, now: float
    ) -> str | None:
        key = (namespace, issuer, jti)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[1] > now:
                return found[0]
            if len(self._entries) >= self._max:
                self._purge(now)
            self._entries[key] = (holder, expires_at)
            return None

    def _purge(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        if len(self._entries) >= self._max:  # fail closed rather than forget live entries
            raise ReplayStoreUnavailable("memory replay store is full")
