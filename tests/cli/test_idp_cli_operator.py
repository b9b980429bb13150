"""What the operator of the reference IdP sees at ``xaa idp clients``, ``keys rotate`` and
``audit``: a narrowed or denied exchange is visible in the text log, and a mistyped
client id or staging period is one line on stderr with exit status 2 (docs/idp.md)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reference_idp.config import load_config
from reference_idp.store import Store
from xaa import AuditEvent
from xaa.cli import main

REPO = Path(__file__).resolve().parents[2]


def filled_template() -> str:
    """``xaa idp config --template`` with its CHANGE ME values replaced."""
    from reference_idp.config_check import template_text

    text = template_text().replace('"CHANGE ME: a long random secret"', '"a-random-secret"')
    return text.replace('"CHANGE ME"', '"a-password"')


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["idp", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_suspending_an_unknown_client_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    Store(db).close()
    code, out, err = run(capsys, "clients", "suspend", "wikki", "--db", db)
    assert (code, out) == (2, "")
    assert err == (
        "xaa idp clients suspend: no client 'wikki'; `xaa idp clients list` shows the clients\n"
    )
    assert run(capsys, "clients", "resume", "wikki", "--db", db)[0] == 2


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "soon"])
def test_min_staging_must_be_zero_or_more_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with pytest.raises(SystemExit) as exited:
        main(["idp", "keys", "rotate", "--min-staging", value, "--db", db])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"xaa idp keys rotate: argument --min-staging: {value!r} is not a number of seconds"
        " (0 or more)\n"
    )
    assert not Path(db).exists()  # refused before the database is touched


def test_audit_text_shows_a_narrowed_scope_and_a_denials_detail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    store = Store(db)
    common = {"event": "token_exchange.id_jag", "client_id": "wiki", "subject": "bob"}
    store.emit(
        AuditEvent(
            **common, decision="issued", audience="https://chat.example",
            requested_scope="chat.read chat.write", granted_scope="chat.read", jti="j1",
        )
    )  # fmt: skip
    store.emit(
        AuditEvent(
            **common, decision="issued", audience="https://chat.example",
            requested_scope="chat.read", granted_scope="chat.read", jti="j2",
        )
    )  # fmt: skip
    store.emit(
        AuditEvent(
            **common, decision="denied", reason="invalid_target",
            audience="https://nope.example",
            extra={"detail": "audience is not a known resource AS"},
        )
    )  # fmt: skip
    store.close()
    code, out, _ = run(capsys, "audit", "--db", db)
    narrowed, full, unknown = out.splitlines()
    assert code == 0
    assert narrowed.endswith('scope=chat.read jti=j1 asked="chat.read chat.write"')
    assert full.endswith("scope=chat.read jti=j2")
    assert unknown.endswith(
        'aud=https://nope.example scope=None jti=None detail="audience is not a known resource AS"'
    )


def test_serve_on_a_busy_port_is_one_line_and_exit_2_before_it_claims_to_serve(
    tmp_path: Path,
) -> None:
    """It printed "serving http://...", then uvicorn's bind error, and exited with 3."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "xaa", "idp", "serve", "--db", ":memory:", "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"xaa idp serve: cannot listen on 127.0.0.1:{port}: Address already in use"
        " (another server there? choose another --port)\n"
    )


def test_serve_on_a_host_that_does_not_resolve_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "serve", "--db", ":memory:", "--host", "no-such-host.invalid")
    assert (code, out) == (2, "")
    assert err.startswith("xaa idp serve: --host no-such-host.invalid: ")
    assert len(err.splitlines()) == 1


def test_a_file_check_refuses_is_neither_served_nor_seeded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A grant for a client that is not configured passed ``serve`` (and was seeded into the
    database) although ``xaa idp config --check`` refused the file."""
    config = tmp_path / "idp.toml"
    config.write_text(filled_template().replace('client = "wiki" ', 'client = "wikki" '))
    db = str(tmp_path / "idp.sqlite3")
    for command in (["clients", "list"], ["keys", "list"], ["serve", "--port", "1"]):
        code, out, err = run(capsys, *command, "--config", str(config), "--db", db)
        assert (code, out) == (2, "")
        assert f"{config}:62: policy.grants[0].client: 'wikki' is no [[clients]] client_id;" in err
        assert err.endswith(f"`xaa idp config --check {config}` lists every problem\n")
    assert not Path(db).exists()


def test_the_admin_example_of_docs_idp_runs_as_its_comments_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The "For example" block of docs/idp.md showed `keys rotate` on a fresh database as if
    it worked; it is refused until the staged key is key_min_staging old."""
    page = (REPO / "docs" / "idp.md").read_text()
    block = page.split("For example (a file database, one shell):", 1)[1]
    block = block.split("```sh\n", 1)[1].split("```", 1)[0]
    db = str(tmp_path / "idp.sqlite3")
    for line in block.splitlines():
        command, _, comment = line.partition("  # ")
        words = command.replace("/tmp/idp.sqlite3", db).split()
        assert words[0] == ".venv/bin/xaa"
        if words[1:3] == ["idp", "serve"]:  # the server, started in the background
            assert words[-1] == "&"
            store = Store(db)
            store.seed(load_config())
            store.close()
            continue
        code = main(words[1:])
        err = capsys.readouterr().err
        assert code == (2 if comment.startswith("refused, exit 2") else 0), (line, err)
    assert "client.suspended denied admin client=agent" in (run(capsys, "audit", "--db", db)[1])


def test_an_admin_command_without_config_never_seeds_the_demo_into_another_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`xaa idp clients suspend wiki --db prod.sqlite3` without the server's --config seeded
    the demo configuration into it: the demo agent with its public key, alice/alice, and
    the demo policy in place of the production one."""
    config = tmp_path / "idp.toml"
    config.write_text(filled_template())
    db = str(tmp_path / "prod.sqlite3")
    Store(db).close()  # what `xaa idp serve --config idp.toml --db prod.sqlite3` creates
    assert run(capsys, "clients", "list", "--config", str(config), "--db", db)[0] == 0
    store = Store(db)
    before = (store.policy(), [c.client_id for c in store.clients()], store.key_states())
    store.close()
    for command in (["clients", "suspend", "wiki"], ["clients", "list"], ["keys", "rotate"]):
        code, out, err = run(capsys, *command, "--db", db)
        assert (code, out) == (2, "")
        assert err.endswith(
            "prod.sqlite3 was seeded from another configuration than the demo one:"
            " pass the server's --config FILE\n"
        )
    store = Store(db)
    after = (store.policy(), [c.client_id for c in store.clients()], store.key_states())
    store.close()
    assert after == before and after[1] == ["wiki"]
    assert run(capsys, "clients", "suspend", "wiki", "--config", str(config), "--db", db)[0] == 0


@pytest.mark.parametrize("value", ["-2", "many"])
def test_audit_limit_must_be_zero_or_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """`--limit -2` printed the whole log (SQLite's LIMIT -2 is no limit)."""
    with pytest.raises(SystemExit) as exited:
        main(["idp", "audit", "--limit", value, "--db", str(tmp_path / "idp.sqlite3")])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"xaa idp audit: argument --limit: {value!r} is not a number of events (0 or more)\n"
    )
