"""The layers of xaa and which may import which (docs/architecture.md), enforced by parsing
every module's imports (AST), lazy ones inside functions included.

- core (``xaa/`` outside ``adapters``, ``cli``, ``conformance``): the standard library,
  pydantic, joserfc and other core modules only;
- adapters, conformance and the CLI build on the core; the core never imports them;
- nothing in ``xaa`` imports the reference apps, the demo, the examples or the tests,
  except the CLI's ``idp``/``resource`` commands, lazily (inside a function).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xaa"
OUTER_LAYERS = ("adapters", "cli", "conformance")
CORE_THIRD_PARTY = {"pydantic", "joserfc"}
REFERENCE_APPS = {"reference_idp", "reference_resource", "reference_broker"}
REPOSITORY_ONLY = {*REFERENCE_APPS, "demo", "examples", "tests", "bench"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. xaa._tokens
    target: str  # the imported module, absolute, e.g. xaa._jose or pydantic
    lazy: bool  # inside a function body
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    if node.module is None:  # from . import spec, rules
        return [f"{base}.{alias.name}" for alias in node.names]
    return [base]


def imports_of(path: Path) -> list[Import]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                inner = True  # for the type checker only: never imported at run time
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, lazy, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                targets = _resolve(module, path.name == "__init__.py", child)
                found.extend(Import(module, t, lazy, child.lineno) for t in targets)
            visit(child, inner)

    visit(tree, False)
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "xaa":
        return parts[0]
    if module == "xaa.__main__":  # ``python -m xaa``: the CLI's entry point
        return "cli"
    return parts[1] if len(parts) > 1 and parts[1] in OUTER_LAYERS else "core"


def all_imports() -> list[Import]:
    return [i for path in sorted(PACKAGE.rglob("*.py")) for i in imports_of(path)]


def test_the_import_parser_sees_relative_and_lazy_imports() -> None:
    found = {(i.module, i.target, i.lazy) for i in all_imports()}
    assert ("xaa._tokens", "xaa._jose", False) in found
    assert ("xaa", "xaa.spec", False) in found
    assert any(
        m == "xaa.cli._idp" and t.startswith("reference_idp") and lazy for m, t, lazy in found
    )


def test_core_imports_only_stdlib_pydantic_joserfc_and_core() -> None:
    wrong = []
    for imp in all_imports():
        if layer(imp.module) != "core":
            continue
        top = imp.target.split(".")[0]
        allowed = (
            top in sys.stdlib_module_names
            or top in CORE_THIRD_PARTY
            or top == "__future__"
            or (top == "xaa" and layer(imp.target) == "core")
        )
        if not allowed:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert wrong == []


def test_no_adapter_cli_or_conformance_module_is_imported_by_the_core() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in all_imports()
        if layer(i.module) == "core" and i.target.startswith("xaa.") and layer(i.target) != "core"
    ]
    assert wrong == []


def test_the_library_never_imports_repository_only_code() -> None:
    """Only the CLI may, lazily, import the reference apps (one-line error if absent)."""
    wrong = []
    for imp in all_imports():
        top = imp.target.split(".")[0]
        if top not in REPOSITORY_ONLY:
            continue
        lazy_reference_app = layer(imp.module) == "cli" and imp.lazy and top in REFERENCE_APPS
        if not lazy_reference_app:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert wrong == []


def test_only_the_library_and_the_reference_apps_are_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(include) == sorted(["xaa*", *(f"{app}*" for app in REFERENCE_APPS)])
