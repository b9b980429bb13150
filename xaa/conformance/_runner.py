"""Run the selected cases of a suite against a target and collect a :class:`Report`.

After every negative case the suite's happy path runs again: a target that
breaks (or locks out the client) after a rejection fails that case.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Generic, TypeVar

import httpx

from ._recording import Exchange, Recorder, RecordingTransport
from ._registry import Case, CaseFailed, CaseSkipped, Level, Suite

T = TypeVar("T")


class Outcome(StrEnum):
    """What happened to one case."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """The outcome of one case, with a one-line message."""

    case: Case[T]
    outcome: Outcome
    message: str = ""
    seconds: float = 0.0
    # What a failed case sent and got back, redacted (xaa.conformance._recording).
    exchanges: tuple[Exchange, ...] = ()

    @property
    def broken(self) -> bool:
        """The case failed or could not talk to the target."""
        return self.outcome in (Outcome.FAIL, Outcome.ERROR)


@dataclass
class Report(Generic[T]):
    """All results of one run."""

    suite: str
    target: str
    results: list[Result[T]] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        """How many cases ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def must_failures(self) -> list[Result[T]]:
        """Broken cases whose level is MUST."""
        return [r for r in self.results if r.broken and r.case.level is Level.MUST]

    @property
    def exit_code(self) -> int:
        """1 when any MUST case failed or errored, else 0."""
        return 1 if self.must_failures else 0


def run_case(case: Case[T], context: T, happy_path: Callable[[T], None] | None) -> Result[T]:
    """Run one case (then the happy path again, for a negative case)."""
    started = time.monotonic()
    try:
        case.check(context)
        if happy_path is not None and case.negative:
            try:
                happy_path(context)
            except CaseFailed as exc:
                raise CaseFailed(f"happy path broken after this case: {exc}") from None
    except CaseFailed as exc:
        return Result(case, Outcome.FAIL, str(exc), time.monotonic() - started)
    except CaseSkipped as exc:
        return Result(case, Outcome.SKIP, str(exc), time.monotonic() - started)
    except Exception as exc:  # the target could not be reached or answered garbage
        message = f"{type(exc).__name__}: {exc}"[:300]
        return Result(case, Outcome.ERROR, message, time.monotonic() - started)
    return Result(case, Outcome.PASS, "", time.monotonic() - started)


def run_suite(
    suite: str,
    target: str,
    cases: Sequence[Case[T]],
    context: T,
    *,
    happy_path: Callable[[T], None] | None = None,
    on_result: Callable[[Result[T]], None] | None = None,
    recorder: Recorder | None = None,
) -> Report[T]:
    """Run ``cases`` in order against ``context`` (a failed case keeps what ``recorder`` saw)."""
    report: Report[T] = Report(suite, target)
    for case in cases:
        if recorder is not None:
            recorder.start()
        result = run_case(case, context, happy_path)
        if recorder is not None:
            exchanges = recorder.take()
            if result.broken:
                result = replace(result, exchanges=exchanges)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report


def run_over_http(
    suite: Suite[T],
    target: str,
    make_context: Callable[[httpx.Client], T],
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    happy_path: Callable[[T], None] | None = None,
    on_result: Callable[[Result[T]], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Report[T]:
    """Run the selected cases of ``suite`` with one recording HTTP client (no redirects
    followed) shared by the context ``make_context`` builds."""
    recorder = Recorder()
    recording = RecordingTransport(transport or httpx.HTTPTransport(), recorder)
    with httpx.Client(timeout=15, follow_redirects=False, transport=recording) as http:
        return run_suite(
            suite.name,
            target,
            suite.select(only, skip),
            make_context(http),
            happy_path=happy_path,
            on_result=on_result,
            recorder=recorder,
        )
