"""LoginThrottle: growing delays per account and per client address, with an injected clock."""

from __future__ import annotations

from typing import Any

from xaa import LoginLock, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: Clock, **options: Any) -> LoginThrottle:
    return LoginThrottle(clock=clock, **options)


def test_free_failures_then_delays_that_double() -> None:
    clock = Clock()
    throttle = _throttle(clock, free_failures=3, base_delay=1.0, max_delay=8.0)
    assert [throttle.failure("alice", None) for _ in range(3)] == [None, None, None]
    delays = []
    for _ in range(6):
        lock = throttle.failure("alice", None)
        assert lock is not None and lock.key == "account"
        delays.append(lock.retry_after)
        clock.now += lock.retry_after  # wait it out, then fail again
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_locked_account_refuses_even_before_the_password_is_checked() -> None:
    clock = Clock()
    throttle = _throttle(clock, free_failures=5)
    for _ in range(30):
        if throttle.check("alice", None) is None:
            throttle.failure("alice", None)
    lock = throttle.check("alice", None)
    assert isinstance(lock, LoginLock) and lock.retry_after > 0
    clock.now += lock.retry_after
    assert throttle.check("alice", None) is None  # the lock has passed


def test_success_clears_the_account_not_the_address() -> None:
    clock = Clock()
    throttle = _throttle(clock, free_failures=2, address_free_failures=3)
    for _ in range(2):
        throttle.failure("alice", "192.0.2.1")
    throttle.success("alice", "192.0.2.1")
    assert throttle.failure("alice", "192.0.2.1") is None  # account counter restarted
    lock = throttle.failure("mallory", "192.0.2.1")  # the address's 4th failure
    assert lock is not None and lock.key == "address"
    assert throttle.check("bob", "192.0.2.1") is not None  # any account from that address
    assert throttle.check("bob", "198.51.100.1") is None


def test_unknown_accounts_are_counted_like_known_ones_and_case_folded() -> None:
    clock = Clock()
    throttle = _throttle(clock, free_failures=1)
    throttle.failure("NoSuchUser", None)
    assert throttle.failure("nosuchuser", None) is not None


def test_counters_are_forgotten_after_a_quiet_period() -> None:
    clock = Clock()
    throttle = _throttle(clock, free_failures=2, forget_after=600.0)
    throttle.failure("alice", None)
    throttle.failure("alice", None)
    clock.now += 600
    assert throttle.failure("alice", None) is None  # counting starts again


def test_memory_is_bounded() -> None:
    clock = Clock()
    throttle = _throttle(clock, max_entries=100)
    for i in range(1000):
        throttle.failure(f"user{i}", None)
    assert len(throttle._counters) == 100
