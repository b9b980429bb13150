"""``xaa broker config --template`` / ``--check`` and ``xaa broker serve --workers N``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference_broker.config_check import check_text, template_text
from tests.support.servers import free_port
from xaa.adapters._vault import KEYS_ENV, Keyring
from xaa.cli import main


def test_template_passes_its_own_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["broker", "config", "--template"]) == 0
    path = tmp_path / "broker.toml"
    path.write_text(capsys.readouterr().out)
    assert main(["broker", "config", "--check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{path}: OK (public_url http://127.0.0.1:9800, 2 apps, 1 agents, 1 trust domains)\n"
    )


def _lines(text: str) -> dict[str, int]:
    return {line.split("=")[0].strip(): n for n, line in enumerate(text.splitlines(), 1)}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('status = "active"', 'status = "paused"', "agents[0].status: Input should be"),
        ('status = "active"', "colour = 1", "agents[0].colour: unknown key (a typo?)"),
        (
            'apps = ["chat", "legacy-chat"]',
            'apps = ["chat", "mail"]',
            "agents[0].apps: 'mail' is no [[apps]] name",
        ),
        (
            "spiffe://acme.example/agent/summarizer",
            "spiffe://other.example/agent/summarizer",
            "agents[0].spiffe_id: trust domain 'other.example' is not configured",
        ),
        (
            "spiffe://acme.example/agent/summarizer",
            "spiffe://acme.example/agent/../x",
            "agents[0].spiffe_id: not a SPIFFE ID: path has a dot segment",
        ),
        ('name = "legacy-chat"', 'name = "chat"', "apps[1].name: 'chat' is configured twice"),
    ],
)
def test_check_names_the_line_of_each_problem(old: str, new: str, message: str) -> None:
    text = template_text()
    assert old in text
    broken = text.replace(old, new, 1)
    problems = check_text(broken)
    assert problems, broken
    assert problems[0].message.startswith(message)
    line = broken.splitlines()[problems[0].line - 1]  # type: ignore[operator]
    assert new.split("=")[0].strip() in line or new in line


def test_check_exits_2_with_file_line_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(template_text().replace('client_id = "wiki"', 'client_id = ""', 1))
    assert main(["broker", "config", "--check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = template_text().splitlines().index('client_id = "wiki"') + 1
    assert err == [f"{path}:{line}: idp.client_id: String should have at least 1 character"]


def test_serve_refuses_a_bad_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("public_url = 'http://127.0.0.1:1'\n[idp\n")
    assert main(["broker", "serve", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:2: TOML syntax:")


@pytest.mark.e2e
def test_serve_runs_two_uvicorn_workers(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "broker.toml"
    config.write_text(template_text().replace("9800", str(port)))
    env = {**os.environ, KEYS_ENV: Keyring.generate().to_text().strip()}
    command = [sys.executable, "-m", "xaa", "broker", "serve", "--config", str(config)]
    proc = subprocess.Popen(
        [*command, "--workers", "2"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert (tmp_path / "xaa-broker.sqlite3").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert b"Started parent process" in err or b"Uvicorn running" in err
    assert b"Traceback" not in err


def test_serve_refuses_an_unset_idp_secret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYS_ENV, Keyring.generate().to_text().strip())
    monkeypatch.delenv("BROKER_IDP_SECRET", raising=False)
    path = tmp_path / "broker.toml"
    text = template_text().replace(
        'client_secret = "wiki-secret"', 'client_secret_env = "BROKER_IDP_SECRET"'
    )
    path.write_text(text)
    with pytest.raises(SystemExit, match=r"idp\.client_secret_env names an unset variable"):
        main(["broker", "serve", "--config", str(path)])
