"""Every citation of the draft names a section that exists in draft-03, and nothing cites
a document outside the repository (the project's threat list, issue numbers)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.draft_sections import ROOT, SECTION, draft_part, draft_sections

SKIP_DIRS = {
    ".git",
    ".venv",
    ".site",
    ".bench",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "node_modules",
}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".html", ".json", ".cfg"}
# "draft §4.3", "Draft §7.1", "draft-03 §8.6.1.2", also across a line break.
DRAFT_CITATION = re.compile(r"\b[Dd]raft(?:-03)?\s+(?=§)")
# Built from parts so that this file does not match itself.
THREAT_LIST = re.compile("THREAT" + r"S(?:\.md)?\b")
ISSUE_NUMBER = re.compile(r"\b[Ii]ssues?\s+#?\d+\b")


def repository_files() -> Iterator[Path]:
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if Path(name).suffix in TEXT_SUFFIXES or name == "Makefile":
                yield Path(folder) / name


def draft_citations() -> list[tuple[str, str]]:
    """``(where, section)`` for every draft citation in the repository's text files."""
    found: list[tuple[str, str]] = []
    for path in repository_files():
        text = path.read_text("utf-8", errors="replace")
        for match in DRAFT_CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            tail = text[match.end() : match.end() + 200].split("\n\n")[0]
            found.extend((where, section) for section in draft_part(tail))
    return found


def compliance_rows() -> list[tuple[str, str]]:
    """The section column of the draft tables of docs/compliance.md."""
    found: list[tuple[str, str]] = []
    in_draft = False
    lines = (ROOT / "docs" / "compliance.md").read_text("utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if line.startswith("## "):
            in_draft = line.startswith("## Draft")
            found.extend((f"docs/compliance.md:{number}", s) for s in SECTION.findall(line))
        row = re.match(r"\| (\d+(?:\.\d+)*) \|", line)
        if in_draft and row:
            found.append((f"docs/compliance.md:{number}", row.group(1)))
    return found


CITATIONS = draft_citations() + compliance_rows()


def test_the_draft_has_its_sections() -> None:
    sections = draft_sections()
    assert sections["7.1"].startswith("IdP Authorization Server Metadata")
    assert sections["7.2"].startswith("Resource Authorization Server Metadata")
    assert sections["8.6.1.2"] == "Proof-of-Possession During ID-JAG Exchange"


def test_the_repository_cites_the_draft() -> None:
    assert len(CITATIONS) > 100


@pytest.mark.parametrize(("where", "section"), CITATIONS, ids=[f"{w}:§{s}" for w, s in CITATIONS])
def test_draft_citation_names_an_existing_section(where: str, section: str) -> None:
    assert section in draft_sections(), f"{where}: draft-03 has no §{section}"


def test_metadata_is_cited_as_section_7() -> None:
    cited = {
        where
        for where, section in CITATIONS
        if section in {"7", "7.1", "7.2"} and "compliance" not in where
    }
    assert any(w.startswith("xaa/spec.py") for w in cited)
    assert any(w.startswith("xaa/idp/_metadata.py") for w in cited)


def test_no_file_cites_the_threat_list_or_an_issue_number() -> None:
    offenders = []
    for path in repository_files():
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
            if THREAT_LIST.search(line) or ISSUE_NUMBER.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert offenders == [], "cite the draft, an RFC or docs/security.md instead:\n" + "\n".join(
        offenders
    )
