"""The public surface (docs/architecture.md, "The public surface"): small facades, private
implementation, and everything built on xaa (the reference apps, the demo, the examples, the
docs) importing only what is public.

A module is public when no part of its dotted name starts with ``_``; every public module is
on a page of the API reference (``docs/reference/``), which mkdocstrings renders from the
module's ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT_ON_XAA = ("reference_idp", "reference_resource", "reference_broker", "demo", "examples")
# The command line: documented in docs/cli.md, not as an API.
COMMAND_LINE = {"xaa.__main__", "xaa.cli", "xaa.cli.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(module: str) -> bool:
    return any(part.startswith("_") and part != "__main__" for part in module.split("."))


def public_modules() -> set[str]:
    names = {_module_name(p) for p in (ROOT / "xaa").rglob("*.py")}
    return {n for n in names if not _is_private(n)} - COMMAND_LINE


def documented_modules() -> set[str]:
    pages = (ROOT / "docs" / "reference").glob("*.md")
    return {m for page in pages for m in re.findall(r"^::: ([\w.]+)", page.read_text(), re.M)}


def test_every_public_module_is_in_the_api_reference_and_nothing_else_is() -> None:
    assert public_modules() == documented_modules()


@pytest.mark.parametrize("module", sorted(public_modules()))
def test_a_public_module_declares_what_it_exports(module: str) -> None:
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    assert not [n for n in exported if n.startswith("_") and not n.endswith("__")]
    missing = [n for n in exported if not hasattr(mod, n)]
    assert missing == []


@pytest.mark.parametrize("module", sorted(public_modules()))
def test_every_exported_class_and_function_has_a_docstring(module: str) -> None:
    mod = importlib.import_module(module)
    bare = [
        name
        for name in mod.__all__
        if (inspect.isclass(obj := getattr(mod, name)) or inspect.isfunction(obj))
        and not inspect.getdoc(obj)
    ]
    assert bare == []


def _python_files() -> list[Path]:
    return [p for top in BUILT_ON_XAA for p in sorted((ROOT / top).rglob("*.py"))]


def _imported_modules(source: str, filename: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in found if m.split(".")[0] == "xaa"]


def _markdown_blocks() -> list[tuple[Path, int, str]]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pages += sorted((ROOT / "examples").rglob("*.md"))
    blocks = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python[^\n]*\n(.*?)^```", text, re.M | re.S):
            blocks.append((page, text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def test_code_built_on_xaa_imports_only_public_modules() -> None:
    wrong = []
    for path in _python_files():
        for line, module in _imported_modules(path.read_text(encoding="utf-8"), str(path)):
            if _is_private(module):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    for page, first_line, code in _markdown_blocks():
        for line, module in _imported_modules(code, str(page)):
            if _is_private(module):
                wrong.append(f"{page.relative_to(ROOT)}:{first_line + line - 1} imports {module}")
    assert wrong == []


def test_the_guides_name_only_public_modules_in_code_and_text() -> None:
    """A guide may point at a private file (``xaa/_tokens.py``) to say where a rule lives, but
    never tells a reader to use a private module (``xaa._tokens``)."""
    wrong = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\bxaa(?:\.\w+)+", line):
                if _is_private(name):
                    wrong.append(f"{page.relative_to(ROOT)}:{number}: {name}")
    assert wrong == []


def test_the_checker_sees_a_private_import() -> None:
    source = "from xaa._tokens import issue_jwt\nfrom xaa.client import _flow\nimport xaa.spec\n"
    modules = [m for _, m in _imported_modules(source, "example.py")]
    assert [m for m in modules if _is_private(m)] == [
        "xaa._tokens",
        "xaa._tokens.issue_jwt",
        "xaa.client._flow",
    ]
