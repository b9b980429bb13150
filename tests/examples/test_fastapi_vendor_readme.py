"""The notes examples' READMEs as a user runs them: every ```sh command from "Run it" on
(examples/fastapi_vendor: with "Check it with the conformance suite"), in order, in bash,
with the documented ports swapped for free ones (the servers started with ``&`` are waited
for, and stopped at the end)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from xaa.adapters.serving import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
README = ROOT / "examples" / "fastapi_vendor" / "README.md"
EXAMPLES = ROOT / "examples"
IDP_TOML = "examples/fastapi_vendor/idp.toml"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def script(tmp_path: Path, readme: Path = README) -> str:
    """The README's commands, ports and paths swapped, each background server awaited."""
    ports = {"9400": str(free_port()), "8000": str(free_port()), "9401": str(free_port())}
    idp_toml = (ROOT / IDP_TOML).read_text("utf-8")
    text = readme.read_text("utf-8")
    run_it = text[text.index("## Run it") : text.index("## Test")]
    commands = "".join(sh_blocks(run_it)).replace("\\\n", " ")
    for documented, free in ports.items():
        idp_toml = idp_toml.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{free}")
        commands = commands.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{free}")
    (tmp_path / "idp.toml").write_text(idp_toml, "utf-8")
    commands = commands.replace(IDP_TOML, str(tmp_path / "idp.toml"))
    commands = commands.replace("/tmp/notes-idp.sqlite3", str(tmp_path / "idp.sqlite3"))
    commands = commands.replace(".venv/bin/", str(Path(sys.executable).parent) + "/")
    test_idp = f"--test-idp-url http://127.0.0.1:{ports['9401']}"  # the README's is the default
    commands = commands.replace("conformance resource-as", f"conformance resource-as {test_idp}")
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in commands.splitlines():
        if line.strip() in ("", "make venv"):
            continue
        # an interactive shell ignores the status of `wait` for a server stopped by `kill`
        lines.append(line.replace('wait "$NOTES_PID"', 'wait "$NOTES_PID" || true'))
        served = re.search(r"(--issuer|--config) (\S+)", line)
        if line.rstrip().endswith("&") and served:
            base = ports["8000"] if "_vendor serve" in line else ports["9400"]
            url = f"http://127.0.0.1:{base}/.well-known/oauth-authorization-server"
            lines.append(f"for i in $(seq 100); do curl -fs -o /dev/null {url} && break;"
                         " sleep 0.1; done")  # fmt: skip
    app = f"http://127.0.0.1:{ports['8000']}/.well-known/oauth-authorization-server"
    lines.append(f"curl -fs -o /dev/null {app}")  # the app is still up at the end
    return "\n".join(lines) + "\n"


def run_readme(tmp_path: Path, readme: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", "-c", script(tmp_path, readme)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_fastapi_vendor_readme_commands_run_as_documented(tmp_path: Path) -> None:
    done = run_readme(tmp_path, README)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "idp.toml: OK" in out
    assert '"text":"hello"' in out and '"via_client":"wiki-at-notes"' in out
    verdict = [line for line in out.splitlines() if "MUST broken" in line]
    assert len(verdict) == 1 and verdict[0].endswith(" 0 MUST broken"), out[-2000:]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("example", ["flask_vendor", "django_vendor", "authlib_vendor"])
def test_framework_example_readme_commands_run_as_documented(tmp_path: Path, example: str) -> None:
    """Each starts the reference IdP with the notes policy and its app; authlib's README also
    gets a token through both legs (``xaa token --authorization-server``)."""
    done = run_readme(tmp_path, EXAMPLES / example / "README.md")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    if example == "authlib_vendor":
        assert "access_token: " in done.stdout and "scope: notes.read notes.write" in done.stdout
