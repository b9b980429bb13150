"""docs/security.md names, for each threat, the code that stops it and (for the IdP's
token exchange) the tests that prove it: every one of those names must exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "security.md").read_text("utf-8")
# Where a bare class name of the "where" column is exported (docs/architecture.md).
FACADES = (
    "xaa", "xaa.idp", "xaa.resource", "xaa.client", "xaa.dpop", "xaa.stores",
    "xaa.adapters.starlette", "xaa.adapters.httpx_client",
)  # fmt: skip
SOURCES = [*ROOT.glob("xaa/**/*.py"), *ROOT.glob("reference_idp/*.py")]


def _cells(column: str) -> list[str]:
    """The cells of ``column`` in every table of the page that has it."""
    found: list[str] = []
    header: list[str] = []
    for line in PAGE.splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
        elif column in header and not set(cells[0]) <= {"-"}:
            found.append(cells[header.index(column)])
    return found


def _attribute(module: ModuleType, dotted: str) -> bool:
    obj: object = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _resolves(name: str) -> bool:
    if name.endswith(".py"):
        return (ROOT / name).is_file()
    if name.startswith("xaa."):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                module = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            return _attribute(module, ".".join(parts[cut:])) if parts[cut:] else True
        return False
    if name[0].isupper():
        return any(_attribute(importlib.import_module(f), name) for f in FACADES)
    definition = re.compile(rf"^\s*(?:async )?def {re.escape(name)}\(", re.M)
    return any(definition.search(path.read_text("utf-8")) for path in SOURCES)


def test_every_where_of_the_security_page_names_code_that_exists() -> None:
    names = {n for cell in _cells("where") for n in re.findall(r"`([^`]+)`", cell)}
    assert len(names) > 30
    assert sorted(n for n in names if not _resolves(n)) == []


def test_every_test_the_security_page_names_exists() -> None:
    cells = _cells("test")
    assert cells and all(cell for cell in cells)  # every IdP threat names a test
    names = {n for cell in cells for n in re.findall(r"`([^`]+)`", cell)}
    tests = "\n".join(p.read_text("utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    assert sorted(n for n in names if f"def {n}(" not in tests) == []
