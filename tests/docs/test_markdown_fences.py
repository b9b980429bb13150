"""Every fenced block of README.md and docs/ names its language, so that only real Python
runs as Python (the root conftest.py runs every ```python block) and the site highlights
the rest as what it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def fences(path: Path) -> list[tuple[int, str]]:
    """``(line, info string)`` of every opening fence."""
    found: list[tuple[int, str]] = []
    closing: str | None = None
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if match is None:
            continue
        if closing is None:
            closing = match.group(2)
            found.append((number, match.group(3).strip()))
        elif match.group(2).startswith(closing) and not match.group(3).strip():
            closing = None
    return found


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_fence_names_its_language(path: Path) -> None:
    bare = [number for number, info in fences(path) if not info]
    assert bare == [], f"{path.relative_to(ROOT)}: fences without a language at lines {bare}"


def test_the_docs_have_python_blocks_to_run() -> None:
    python = sum(info.split()[0] == "python" for p in PAGES for _, info in fences(p) if info)
    assert python >= 25
