"""examples/agent_client runs end to end against the reference IdP and chat app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.reference_stacks import reference_stack
from xaa.adapters.serving import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]


def run_example(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own interpreter and script
        [sys.executable, "-m", "examples.agent_client.main", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_agent_client_example_shows_narrowing_and_step_up(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        done = run_example(env={"XAA_IDP": stack.idp, "XAA_RESOURCE": stack.api})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "== bob",
        "one call (XAAClient): requested chat.read chat.write, granted chat.read"
        " (narrowed: chat.write declined)",
        "sync XAAAuth: GET /channels -> 200",
        f"sync XAAAuth: POST needs chat.write -> step-up declined: the IdP at {stack.idp}"
        " declined scope 'chat.write' (granted: chat.read); asking again will not help"
        " until its policy grants it",
        "async XAAAuth: GET /channels/general/messages -> 200, 0 message(s)",
        "== alice",
        "one call (XAAClient): requested chat.read chat.write, granted chat.read chat.write",
        "sync XAAAuth: GET /channels -> 200",
        "sync XAAAuth: POST needs chat.write -> 201 after step-up to chat.read chat.write",
        "async XAAAuth: GET /channels/general/messages -> 200, 1 message(s)",
    ]


def test_agent_client_example_takes_urls_from_arguments(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        done = run_example(
            "--idp", stack.idp,
            "--resource", stack.api,
            "--idp-token-endpoint", stack.idp + "/token",
            "--user", "alice:alice",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "== alice"
    assert "201 after step-up to chat.read chat.write" in done.stdout


def test_agent_client_example_needs_both_urls() -> None:
    done = run_example("--idp", "http://127.0.0.1:1")
    assert done.returncode == 2 and "give both --idp and --resource" in done.stderr


def test_agent_client_example_with_the_idp_down_is_one_line_naming_the_url() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    done = run_example("--idp", dead, "--resource", dead + "/api")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"failed: ConnectError: [Errno 111] Connection refused "
        f"(GET {dead}/.well-known/oauth-authorization-server)"
    ]


def test_agent_client_example_wrong_password_is_one_line(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        done = run_example("--idp", stack.idp, "--resource", stack.api, "--user", "bob:nope")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"failed: SignInFailed: the IdP at {stack.idp} refused the sign-in of 'bob' "
        "(HTTP 401): wrong username or password?"
    )


def readme_output() -> list[str]:
    """The ```text block under "Output" in the example's README."""
    readme = (ROOT / "examples" / "agent_client" / "README.md").read_text()
    block = readme.split("Output (ports vary):", 1)[1].split("```text\n", 1)[1]
    return block.split("```", 1)[0].splitlines()


def test_agent_client_example_prints_what_its_readme_shows(tmp_path: Path) -> None:
    with reference_stack(tmp_path) as stack:
        done = run_example("--idp", stack.idp, "--resource", stack.api)
    assert done.returncode == 0, done.stderr
    shown = [line.replace("http://127.0.0.1:9400", stack.idp) for line in readme_output()]
    assert done.stdout.splitlines() == shown
