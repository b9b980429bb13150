"""An install without an extra (docs/install.md): one line naming the extra to install.

Each case runs in a fresh interpreter where the extra's library is made unimportable
(``sys.modules[name] = None``), as it is in a venv that lacks it. The declared extras are
checked against what each adapter really imports (``pyproject.toml``).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# adapter (public module) -> (the extras its error names, a library that extra brings)
ADAPTERS = {
    "xaa.adapters.authlib": ("authlib", "authlib"),
    "xaa.adapters.broker": ("client,broker", "httpx"),
    "xaa.adapters.django": ("django", "django"),
    "xaa.adapters.flask": ("flask", "flask"),
    "xaa.adapters.httpx2_client": ("client", "httpx2"),
    "xaa.adapters.httpx_client": ("client", "httpx"),
    "xaa.adapters.httpx_login": ("client", "httpx"),
    "xaa.adapters.mcp_client": ("client", "httpx"),
    "xaa.adapters.mcp_server": ("mcp", "mcp"),
    "xaa.adapters.redis_store": ("redis", "redis"),
    "xaa.adapters.saml": ("saml", "lxml"),
    "xaa.adapters.saml_signer": ("saml", "signxml"),
    "xaa.adapters.serving": ("server", "uvicorn"),
    "xaa.adapters.starlette": ("server", "starlette"),
    "xaa.adapters.starlette_broker": ("server,broker", "starlette"),
    "xaa.conformance": ("server", "httpx"),
}
# The lines docs/install.md prints.
STARLETTE_WITHOUT_SERVER = (
    "xaa.adapters.MissingExtra: xaa.adapters.starlette needs the server extra "
    "(no module named 'starlette'): pip install 'xaa[server]'"
)
HELP_WITHOUT_SERVER = (
    "xaa: the xaa command needs the server extra (no module named 'anyio'): "
    "pip install 'xaa[server]'"
)
SERVE_WITHOUT_REFERENCE = (
    "xaa idp serve: this command needs the reference extra (no module named 'lxml'): "
    "pip install 'xaa[reference]'"
)


def _run(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's xaa, from any cwd
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def _blocked(names: list[str]) -> str:
    return "import sys\n" + "".join(f"sys.modules[{n!r}] = None\n" for n in names)


@pytest.mark.parametrize("module", sorted(ADAPTERS))
def test_an_adapter_without_its_extra_names_the_extra_to_install(module: str) -> None:
    extras, library = ADAPTERS[module]
    result = _run(_blocked([library]) + f"import {module}\n")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.endswith(f"pip install 'xaa[{extras}]'"), last
    assert last.startswith("xaa.adapters.MissingExtra: ")
    assert "ModuleNotFoundError" not in result.stderr  # the bare error is not chained


def test_the_starlette_adapter_without_the_server_extra_prints_the_documented_line() -> None:
    result = _run(_blocked(["starlette"]) + "import xaa.adapters.starlette\n")
    assert result.stderr.strip().splitlines()[-1] == STARLETTE_WITHOUT_SERVER


def test_the_install_page_shows_the_lines_xaa_prints_and_lists_every_extra() -> None:
    page = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    lines = page.splitlines()
    for line in (STARLETTE_WITHOUT_SERVER, HELP_WITHOUT_SERVER, SERVE_WITHOUT_REFERENCE):
        assert line in lines
    assert set(re.findall(r"^\| `([a-z]+)` \|", page, re.M)) == set(_extras())


def test_a_missing_module_of_xaa_itself_is_not_blamed_on_an_extra() -> None:
    code = _blocked(["xaa.adapters._starlette_idp"]) + "import xaa.adapters.starlette\n"
    result = _run(code)
    assert "pip install" not in result.stderr
    assert "xaa.adapters._starlette_idp" in result.stderr


def test_xaa_help_without_the_server_extra_is_one_line_naming_it() -> None:
    code = _blocked(["anyio", "starlette"]) + "from xaa.cli import main\nsys.exit(main(['--help']))"
    result = _run(code)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [HELP_WITHOUT_SERVER]


def test_serving_a_reference_app_without_its_extras_names_the_reference_extra(
    tmp_path: Path,
) -> None:
    code = _blocked(["lxml"]) + (
        "from xaa.cli import main\nsys.exit(main(['idp', 'serve', '--port', '1']))"
    )
    result = _run(code, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [SERVE_WITHOUT_REFERENCE]


# --- the extras hold what the code imports -------------------------------------------------


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["optional-dependencies"])


def _closure(requirements: list[str], extras: dict[str, list[str]]) -> set[str]:
    """Distributions (normalised names) that ``requirements`` install, from the metadata."""
    seen: set[tuple[str, str]] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        if name == "xaa":
            todo += [(Requirement(r), "") for e in requirement.extras for r in extras[e]]
            continue
        for wanted in ["", *sorted(requirement.extras)]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            todo += [(Requirement(r), wanted) for r in metadata.requires(name) or []]
    return {name for name, _ in seen}


def _third_party_imports(module: str, done: set[str] | None = None) -> set[str]:
    """Top-level third-party packages ``module`` imports at load time, through xaa's modules."""
    done = set() if done is None else done
    done.add(module)
    parts = module.split(".")
    path = ROOT.joinpath(*parts).with_suffix(".py")
    if not path.exists():
        path = ROOT.joinpath(*parts, "__init__.py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:  # load-time imports only: lazy ones inside functions are optional
        names: list[str] = []
        if isinstance(node, ast.Try):
            nodes: list[ast.stmt] = node.body
        else:
            nodes = [node]
        for stmt in nodes:
            if isinstance(stmt, ast.Import):
                names += [a.name for a in stmt.names]
            elif isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__":
                base = package.split(".")
                if stmt.level:
                    base = base[: len(base) - stmt.level + 1]
                    prefix = ".".join(base)
                    names += [f"{prefix}.{stmt.module}" if stmt.module else prefix]
                    names += [f"{names[-1]}.{a.name}" for a in stmt.names]
                else:
                    names += [stmt.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top == "xaa":
                for candidate in filter(None, (name, name.rpartition(".")[0])):
                    mod_path = ROOT.joinpath(*candidate.split("."))
                    exists = mod_path.with_suffix(".py").exists() or mod_path.is_dir()
                    if exists and candidate not in done:
                        found |= _third_party_imports(candidate, done)
                        break
            elif top not in sys.stdlib_module_names and top not in ("pydantic", "joserfc"):
                found.add(top)
    return found


@pytest.mark.parametrize("module", sorted(ADAPTERS))
def test_the_extra_an_adapter_names_installs_what_it_imports(module: str) -> None:
    extras = _extras()
    installed = _closure([f"xaa[{ADAPTERS[module][0]}]"], extras)
    providers = metadata.packages_distributions()
    missing = []
    for top in sorted(_third_party_imports(module)):
        dists = {canonicalize_name(d) for d in providers.get(top, [top])}
        if not dists & installed:
            missing.append(top)
    assert missing == []


def test_the_reference_extra_installs_what_the_reference_apps_import() -> None:
    """``xaa idp serve`` with ``xaa[server]`` alone died on lxml (SAML) and mcp (MCP)."""
    extras = _extras()
    installed = _closure(["xaa[reference]"], extras)
    providers = metadata.packages_distributions()
    missing = set()
    for app in ("reference_idp", "reference_resource", "reference_broker"):
        for path in (ROOT / app).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in ("xaa", app, "__future__"):
                        continue
                    dists = {canonicalize_name(d) for d in providers.get(top, [top])}
                    if not dists & installed and top not in ("pydantic", "joserfc"):
                        missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert sorted(missing) == []
