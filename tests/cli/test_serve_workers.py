"""``--workers N``: worker processes that share state through SQLite.

One ID-JAG presented at once, over many connections, to ``xaa resource serve --workers 2``
is redeemed exactly once, with both worker processes taking part.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.resource.loopback_idp import LoopbackIdp, loopback_idp
from tests.support.servers import free_port
from xaa import spec
from xaa.cli import main

pytestmark = [pytest.mark.e2e]

AUTH = ("wiki-at-chat", "wiki-chat-secret")
ATTEMPTS = 5
PRESENTATIONS = 24
# The audit row of each refusal, logged with the worker's process id.
REFUSED = re.compile(r" (\d+) reference_resource audit .*\"invalid_grant: ID-JAG already used\"")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def idp() -> Iterator[LoopbackIdp]:
    with loopback_idp() as running:
        yield running


def _serve(tmp_path: Path, idp: str, *extra: str) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "xaa", "resource", "serve", "--port", str(port)]
    cmd += ["--db", str(tmp_path / "chat.db"), "--trust-idp", idp]
    cmd += ["--idp-email-domain", f"{idp}=acme.example", *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if httpx.get(base + "/jwks.json").status_code == 200:
                return base, proc, log
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _present_at_once(base: str, assertion: str) -> list[httpx.Response]:
    responses: list[httpx.Response] = []
    data = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion}

    async def present() -> None:
        # Each presentation on its own connection, so the kernel spreads them over workers.
        async with httpx.AsyncClient(timeout=30) as client:
            responses.append(await client.post(base + "/token", data=data, auth=AUTH))

    async with anyio.create_task_group() as group:
        for _ in range(PRESENTATIONS):
            group.start_soon(present)
    return responses


@pytest.mark.anyio
async def test_one_id_jag_presented_to_two_workers_at_once_is_redeemed_exactly_once(
    idp: LoopbackIdp, tmp_path: Path
) -> None:
    base, proc, log = _serve(tmp_path, idp.issuer, "--workers", "2", "--replay", "sqlite")
    try:
        refusing_workers: set[str] = set()
        for _ in range(ATTEMPTS):
            responses = await _present_at_once(base, idp.id_jag(base, "wiki-at-chat"))
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200] + [400] * (PRESENTATIONS - 1), statuses
            for refused in (r for r in responses if r.status_code == 400):
                assert refused.json()["error"] == "invalid_grant"
                assert refused.headers["cache-control"] == "no-store"
            refusing_workers = set(REFUSED.findall(log.read_text()))
            if len(refusing_workers) >= 2:
                break
        # Both worker processes refused presentations of the ID-JAG one of them redeemed.
        assert len(refusing_workers) == 2, log.read_text()
        assert str(proc.pid) not in refusing_workers
    finally:
        _stop(proc)
    assert "serving http://127.0.0.1" in log.read_text()
    assert "2 worker processes" in log.read_text()


def test_workers_refuse_state_kept_in_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "chat.db")
    argv = ["resource", "serve", "--workers", "2", "--replay", "memory", "--db", db]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xaa resource serve: --workers needs state the processes share")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_workers_must_be_a_small_positive_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["resource", "serve", "--workers", value])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_the_server_extra_brings_the_fast_stack() -> None:
    from xaa.adapters.serving import server_stack

    # uvicorn[standard] (the server extra) installs both; without them: h11 + asyncio.
    assert server_stack() == ("httptools", "uvloop")
    assert os.environ.get("XAA_SERVE_ARGV") is None


def test_idp_workers_serve_the_keys_of_their_shared_database(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "idp.log"
    cmd = [sys.executable, "-m", "xaa", "idp", "serve", "--port", str(port), "--workers", "2"]
    cmd += ["--db", str(tmp_path / "idp.sqlite3")]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        documents: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while len(documents) < 12 and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                documents.append(httpx.get(base + "/jwks").json())  # a new connection each
            except httpx.HTTPError:
                time.sleep(0.1)
        assert len(documents) == 12 and all(d == documents[0] for d in documents)
    finally:
        _stop(proc)
    assert "reference IdP: serving http://127.0.0.1" in log.read_text()
