"""The case registry: every conformance case has a stable id, a section, a level and a risk.

A case id names the violation it looks for (``ras-rejects-aud-array-with-two-values``).
A case is a function of the suite's context that returns when the target behaves
and raises :class:`CaseFailed` (or :class:`CaseSkipped`) otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from .._errors import ConfigurationError, XaaError

T = TypeVar("T")

_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class Level(StrEnum):
    """How binding the rule is: RFC 2119 keyword, or a best current practice."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    BEST_PRACTICE = "best-practice"


class CaseFailed(XaaError, AssertionError):
    """The target broke the rule of the case; the message says how (never token bytes)."""


class CaseSkipped(XaaError):
    """The case cannot run against this target (a setting or a credential is missing)."""


@dataclass(frozen=True, slots=True)
class Case(Generic[T]):
    """One conformance case."""

    id: str
    suite: str
    section: str
    level: Level
    tags: frozenset[str]
    risk: str
    check: Callable[[T], None]

    @property
    def negative(self) -> bool:
        """A negative case: the happy path is re-checked after it."""
        return "negative" in self.tags

    def matches(self, selectors: Iterable[str]) -> bool:
        """True when a selector is this case's id or one of its tags."""
        return any(s == self.id or s in self.tags for s in selectors)


class Suite(Generic[T]):
    """The ordered cases of one suite; ids are unique across the suite."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cases: list[Case[T]] = []

    def add(
        self,
        case_id: str,
        check: Callable[[T], None],
        *,
        section: str,
        level: Level,
        risk: str,
        tags: Iterable[str] = (),
    ) -> Case[T]:
        """Register ``check`` under ``case_id``."""
        if not _ID.fullmatch(case_id):
            raise ValueError(f"case id {case_id!r} is not lowercase-with-dashes")
        if any(c.id == case_id for c in self.cases):
            raise ValueError(f"duplicate case id {case_id!r}")
        case = Case(case_id, self.name, section, level, frozenset(tags), risk, check)
        self.cases.append(case)
        return case

    def case(
        self, case_id: str, *, section: str, level: Level, risk: str, tags: Iterable[str] = ()
    ) -> Callable[[Callable[[T], None]], Callable[[T], None]]:
        """Decorator form of :meth:`add`."""

        def decorate(check: Callable[[T], None]) -> Callable[[T], None]:
            self.add(case_id, check, section=section, level=level, risk=risk, tags=tags)
            return check

        return decorate

    def select(self, only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Case[T]]:
        """Cases matching any ``only`` selector (all when empty) and no ``skip`` selector."""
        only, skip = list(only), list(skip)
        known = {c.id for c in self.cases} | {t for c in self.cases for t in c.tags}
        unknown = [s for s in only + skip if s not in known]
        if unknown:
            raise ConfigurationError(f"unknown case id or tag: {', '.join(unknown)}")
        return [c for c in self.cases if (not only or c.matches(only)) and not c.matches(skip)]
