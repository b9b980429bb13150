"""A maintainer's first look (docs/architecture.md): every file or folder the page names,
in the layers and in "Where each rule is enforced", exists in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_path_the_architecture_page_names_exists() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:xaa|tests|reference_\w+|demo|examples|bench)/[\w./]*)`", page))
    assert len(named) > 20
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
