"""README.md's "Try it" as a new user runs it: the sh block in bash, in order, with the
servers it starts in the background awaited and stopped at the end. The block names the
reference apps' documented ports (9400, 9401, 9500); the test is skipped when one is taken
(a demo running on this machine), never run on other ports, since the demo IdP's policy
knows the chat app at :9500."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
PORTS = (9400, 9401, 9500)


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def try_it_script() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text[text.index("## Try it") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "README.md: no sh block under Try it"
    commands = block.group(1).replace("\\\n", " ")
    commands = commands.replace(".venv/bin/", str(Path(sys.executable).parent) + "/")
    lines = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in commands.splitlines():
        if line.strip() in ("", "make venv"):
            continue
        lines.append(line)
        if line.rstrip().split("#")[0].rstrip().endswith("&"):
            port = "9500" if "resource serve" in line else "9400"
            url = f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server"
            lines.append(f"for i in $(seq 150); do curl -fs -o /dev/null {url} && break;"
                         " sleep 0.1; done")  # fmt: skip
    return "\n".join(lines) + "\n"


def test_readme_try_it_runs_as_documented(tmp_path: Path) -> None:
    if any(_taken(port) for port in PORTS):
        pytest.skip("a documented port is taken (a demo is running here)")
    done = subprocess.run(
        ["bash", "-c", try_it_script()],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"access_token"' in done.stdout or "access_token" in done.stdout
    assert "Traceback" not in done.stderr
