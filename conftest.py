"""Every ```python block of README.md and docs/*.md runs as a test (pytest-markdown-docs).

The plugin's own ``--markdown-docs`` switch would also collect the docstrings of
every module; here only the Markdown files the project publishes are collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_markdown_docs.plugin import MarkdownTextFile

ROOT = Path(__file__).resolve().parent


def _published(path: Path) -> bool:
    if path == ROOT / "README.md":
        return True
    return path.suffix == ".md" and ROOT / "docs" in path.parents


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if parent.config.option.markdowndocs or not _published(file_path):
        return None
    return MarkdownTextFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]
