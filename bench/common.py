"""Shared benchmark helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple


class Figure(NamedTuple):
    """One measured figure."""

    name: str
    value: float
    unit: str


def per_call_us(fn: Callable[[], object], *, seconds: float = 1.0, repeats: int = 5) -> float:
    """Best-of-``repeats`` microseconds per call, each repeat running about ``seconds``."""
    calls = 1
    while True:  # calibrate to ~seconds/repeats per batch
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > seconds / repeats / 4:
            break
        calls *= 2
    batch = max(1, int(calls * (seconds / repeats) / max(elapsed, 1e-9)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - start) / batch)
    return best * 1e6


def interleaved_us(
    subject: Callable[[], object], baseline: Callable[[], object], rounds: int = 4
) -> tuple[float, float]:
    """Best per-call microseconds of both, measured in alternating rounds.

    Alternating puts both under the same machine load, so their ratio holds
    even when absolute figures drift.
    """
    subject_us, baseline_us = [], []
    for _ in range(rounds):
        subject_us.append(per_call_us(subject, seconds=0.4, repeats=4))
        baseline_us.append(per_call_us(baseline, seconds=0.4, repeats=4))
    return min(subject_us), min(baseline_us)
