"""``python -m reference_idp.demo``, the first command of docs/idp.md: it runs on a free
port (a busy 9400 made it end in a traceback), and a busy ``--port`` is one line, exit 2."""

from __future__ import annotations

import json
import socket

import pytest

from reference_idp.demo import main


def test_demo_runs_on_a_free_port_and_prints_the_id_jag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    first, rest = out.split("\n", 1)
    assert first.startswith("reference IdP (demo configuration) at http://127.0.0.1:")
    assert not first.endswith(":9400")
    claims = json.loads(rest.split("ID-JAG claims:", 1)[1])
    assert claims["sub"] == "alice" and claims["client_id"] == "wiki-at-chat"


def test_demo_on_a_busy_port_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    prog = "python -m reference_idp.demo"
    assert err == f"{prog}: cannot listen on 127.0.0.1:{port}: Address already in use\n"
