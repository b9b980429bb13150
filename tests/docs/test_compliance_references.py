"""docs/compliance.md only cites tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
COMPLIANCE = (ROOT / "docs" / "compliance.md").read_text()
# `dir/file.py::name` or `dir/file.py::Class` (optionally `, ::other` on the same file).
CITATION = re.compile(r"`((?:[\w-]+/)*[\w-]+\.py)((?:::[\w]+)?)`")
CONTINUATION = re.compile(r"`::(\w+)`")


def citations() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for line in COMPLIANCE.splitlines():
        current: str | None = None
        for match in re.finditer(r"`[^`]+`", line):
            text = match.group(0)
            full = CITATION.fullmatch(text)
            if full and "/" in full.group(1):
                current = full.group(1)
                found.append((current, full.group(2)[2:] or None))
                continue
            cont = CONTINUATION.fullmatch(text)
            if cont and current is not None:
                found.append((current, cont.group(1)))
    return found


CITED = citations()


def test_the_page_cites_tests() -> None:
    assert len(CITED) > 50


@pytest.mark.parametrize(("path", "name"), CITED, ids=[f"{p}::{n}" for p, n in CITED])
def test_cited_test_exists(path: str, name: str | None) -> None:
    base = ROOT / "tests" if not path.startswith(("reference_", "xaa/")) else ROOT
    target = base / path
    if not target.exists() and (ROOT / path).exists():
        target = ROOT / path
    assert target.exists(), f"{path} does not exist"
    if name is not None:
        source = target.read_text()
        assert re.search(rf"^\s*(async def|def|class) {re.escape(name)}\b", source, re.M), (
            f"{name} not defined in {path}"
        )


def test_cited_conformance_cases_exist() -> None:
    from xaa.conformance import SUITES

    known = {case.id for suite in SUITES for case in suite.cases}
    cited = set(re.findall(r"`((?:ras|idp|client)-[a-z0-9*-]+)`", COMPLIANCE))
    assert cited
    for case in cited:
        if case.endswith("*"):
            assert any(k.startswith(case[:-1]) for k in known), case
        else:
            assert case in known, case
