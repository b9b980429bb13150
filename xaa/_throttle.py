"""Login throttling: per-account and per-client-address failure counters (sans-I/O).

Password guessing (RFC 6819 §4.4.3.6 "online guessing"; §5.1.4.2.3 lock
accounts, §5.1.4.2.4 tar pit) is slowed by counting failed logins per account
name and per client address. Past ``free_failures``
consecutive failures a key is locked for a delay that doubles with each further
failure (``base_delay``, 2x, 4x, ... up to ``max_delay``). While either key is
locked the login is refused *before* the password is checked, so even the right
password waits. A success clears the account's counter, never the address's (a
guesser with one valid account of its own cannot reset its address). Counters
without a failure for ``forget_after`` seconds are forgotten.

Unknown account names are counted exactly like known ones: the lock reveals
nothing about which accounts exist. The caller does the I/O: it asks
:meth:`LoginThrottle.check` first, verifies the password, then reports
:meth:`~LoginThrottle.failure` or :meth:`~LoginThrottle.success`, and audits
the :class:`LoginLock` it gets back. The clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["LoginLock", "LoginThrottle"]


@dataclass(frozen=True, slots=True)
class LoginLock:
    """A refused or locked login: which key is locked, and for how many more seconds."""

    key: Literal["account", "address"]
    retry_after: float
    failures: int


@dataclass(slots=True)
class _Counter:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Growing delays after repeated failed logins, per account and per client address."""

    def __init__(
        self,
        *,
        free_failures: int = 5,
        address_free_failures: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 900.0,
        forget_after: float = 3600.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = {"account": free_failures, "address": address_free_failures}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_entries = max_entries
        self._clock = clock
        self._counters: OrderedDict[tuple[str, str], _Counter] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, account: str, address: str | None) -> LoginLock | None:
        """Before checking the password: the lock that refuses this login, else ``None``."""
        now = self._clock()
        with self._lock:
            for kind, value in self._keys(account, address):
                counter = self._live(kind, value, now)
                if counter is not None and counter.locked_until > now:
                    return LoginLock(kind, counter.locked_until - now, counter.failures)
        return None

    def failure(self, account: str, address: str | None) -> LoginLock | None:
        """Record a failed login; the lock it starts (or extends), else ``None``."""
        now = self._clock()
        locks: list[LoginLock] = []
        with self._lock:
            for kind, value in self._keys(account, address):
                counter = self._live(kind, value, now) or _Counter()
                counter.failures += 1
                counter.last = now
                excess = counter.failures - self.free[kind]
                if excess > 0:
                    delay = min(self.base_delay * 2.0 ** min(excess - 1, 64), self.max_delay)
                    counter.locked_until = now + delay
                    locks.append(LoginLock(kind, delay, counter.failures))
                self._store((kind, value), counter)
        return max(locks, key=lambda lock: lock.retry_after, default=None)

    def success(self, account: str, address: str | None) -> None:
        """A successful login clears the account's counter (not the address's)."""
        del address
        with self._lock:
            self._counters.pop(("account", _account_key(account)), None)

    def _keys(
        self, account: str, address: str | None
    ) -> list[tuple[Literal["account", "address"], str]]:
        keys: list[tuple[Literal["account", "address"], str]] = [("account", _account_key(account))]
        if address:
            keys.append(("address", address))
        return keys

    def _live(self, kind: str, value: str, now: float) -> _Counter | None:
        counter = self._counters.get((kind, value))
        if counter is not None and now - counter.last >= self.forget_after:
            del self._counters[(kind, value)]
            return None
        return counter

    def _store(self, key: tuple[str, str], counter: _Counter) -> None:
        self._counters[key] = counter
        self._counters.move_to_end(key)
        while len(self._counters) > self.max_entries:  # bounded memory: oldest first
            self._counters.popitem(last=False)


def _account_key(account: str) -> str:
    """One counter per account name, whatever its case (bounded length)."""
    return account.casefold()[:256]
