"""The installed package (docs/install.md): build the wheel, install it into a venv outside the
repository, import every public module, run ``xaa`` and the README's python blocks there.

Offline: the wheel is built without build isolation (setuptools from the dev extra) and
installed with ``--no-index --no-deps``; the venv sees the dependencies already installed in
this interpreter's site-packages through a ``.pth`` line (which does not process the editable
install of xaa there), so every ``xaa`` module comes from the wheel. Marked ``packaging``:
``-m "not packaging"`` skips it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("reference_idp", "reference_resource", "reference_broker")


def _public_modules() -> list[str]:
    """The public modules, as tests/test_public_api.py finds them (docs/architecture.md)."""
    names = []
    for path in sorted((ROOT / "xaa").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return [n for n in names if n != "xaa.cli"]  # the command line, run below


pytestmark = pytest.mark.packaging


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (no ``build/`` in the repository)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for top in ("xaa", *APPS):
        shutil.copytree(ROOT / top, source / top, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    opts = ["--no-deps", "--no-index", "--no-build-isolation", "-q"]
    _run(*pip, "wheel", *opts, "-w", work / "dist", source, cwd=work)
    (built,) = (work / "dist").glob("xaa-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the repository with the wheel installed and this site-packages visible."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home.parent)
    python = home / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=home)
    deps = Path(sysconfig.get_path("purelib"))
    (Path(site.stdout.strip()) / "dev-dependencies.pth").write_text(f"{deps}\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    _run(*pip, "install", "--no-deps", "--no-index", "-q", wheel, cwd=home)
    return home


def test_the_wheel_holds_the_library_and_the_reference_apps_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"xaa", *APPS}
    assert "xaa/py.typed" in names
    for data in ("reference_idp/templates/login.html", "reference_idp/templates/console.css"):
        assert data in names
    assert "reference_broker/templates/home.html" in names
    for app in APPS:
        assert f"{app}/template.toml" in names
    assert "reference_idp/demo.toml" in names


def test_the_installed_wheel_imports_every_public_module_outside_the_repository(
    venv: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib, json, sys\n"
        f"mods = {[*_public_modules(), *APPS]!r}\n"
        "print(json.dumps({m: importlib.import_module(m).__file__ for m in mods}))\n"
    )
    result = _run(venv / "bin" / "python", "-c", code, cwd=tmp_path)
    files = json.loads(result.stdout)
    outside = {m: f for m, f in files.items() if not f.startswith(str(venv))}
    assert outside == {}  # every module comes from the wheel, none from the repository


def test_the_installed_xaa_command_runs_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    xaa = venv / "bin" / "xaa"
    assert (
        "{broker,conformance,version,idp,resource,token,decode}"
        in _run(xaa, "--help", cwd=tmp_path).stdout
    )
    assert "xaa" in _run(xaa, "version", cwd=tmp_path).stdout
    assert "--config CONFIG" in _run(xaa, "idp", "serve", "--help", cwd=tmp_path).stdout
    for app in ("idp", "resource", "broker"):  # each app's template.toml, as package data
        template = _run(xaa, app, "config", "--template", cwd=tmp_path).stdout
        assert template == (ROOT / f"reference_{app}" / "template.toml").read_text()


def test_the_readme_python_blocks_run_with_the_installed_wheel_outside_the_repository(
    venv: Path, tmp_path: Path
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.M | re.S)
    assert blocks
    for number, code in enumerate(blocks):
        script = tmp_path / f"readme_{number}.py"
        script.write_text(code, encoding="utf-8")
        _run(venv / "bin" / "python", script, cwd=tmp_path)
