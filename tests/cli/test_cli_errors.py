"""Bad input at the ``xaa`` command: one line on stderr naming the file, line or option,
exit status 2, never a traceback (run as a subprocess, as a user would)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_xaa
from xaa.adapters.serving import free_port


def assert_one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("name", "content", "needles"),
    [
        ("broken.toml", b'issuer = "http://x"\n[[users\n', ("broken.toml", "line 2")),
        ("binary.toml", b"\xff\xfeissuer", ("binary.toml", "not UTF-8")),
        ("unknown.toml", b'issuer = "http://x"\nbogus = 1\n', ("unknown.toml", "bogus")),
        (
            "nosecret.toml",
            b'[[clients]]\nclient_id = "a"\nowner = "o"\nauth_method = "client_secret_basic"\n',
            ("nosecret.toml", "clients[0]", "secret"),
        ),
    ],
)
def test_bad_config_file_is_one_line(
    tmp_path: Path, name: str, content: bytes, needles: tuple[str, ...]
) -> None:
    (tmp_path / name).write_bytes(content)
    result = run_xaa("idp", "clients", "list", "--config", name, "--db", ":memory:", cwd=tmp_path)
    assert_one_line(result, *needles)


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = run_xaa("idp", "keys", "list", "--config", "absent.toml", cwd=tmp_path)
    assert_one_line(result, "absent.toml", "No such file")


@pytest.mark.parametrize(
    "command", [("idp", "keys", "list"), ("resource", "serve", "--replay", "memory")]
)
def test_db_in_missing_folder_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = run_xaa(*command, "--db", str(tmp_path / "nope" / "x.db"), cwd=tmp_path)
    assert_one_line(result, "--db", "folder does not exist")


def test_unknown_replay_scheme_is_one_line(tmp_path: Path) -> None:
    result = run_xaa("resource", "serve", "--replay", "foo://", cwd=tmp_path)
    assert_one_line(result, "--replay", "foo://")


def test_unreachable_redis_replay_fails_at_startup(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = run_xaa(
        "resource", "serve", "--port", str(free_port()), "--db", str(tmp_path / "r.db"),
        "--replay", f"redis://:hunter2@127.0.0.1:{port}/0", cwd=tmp_path,
    )  # fmt: skip
    line = assert_one_line(result, "redis", f"127.0.0.1:{port}", "unreachable")
    assert "hunter2" not in line  # the URL's password never appears


def test_token_against_idp_not_running_is_one_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "id_token").write_text("x.y.z")
    result = run_xaa(
        "token", "--idp", dead, "--idp-client-id", "wiki", "--idp-client-secret", "s",
        "--subject-token-file", "id_token", "--resource", f"{dead}/api",
        "--client-id", "c", "--client-secret", "d", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line(result, "cannot reach", dead)


def served_db(tmp_path: Path) -> None:
    """``idp.db`` as ``xaa idp serve --db idp.db`` leaves it (admin commands need one)."""
    from reference_idp.config import load_config
    from reference_idp.store import Store

    store = Store(tmp_path / "idp.db")
    store.seed(load_config())
    store.close()


def test_admin_command_on_a_database_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    """A mistyped --db made `clients suspend` act on a fresh database and say it worked."""
    result = run_xaa("idp", "clients", "suspend", "wiki", "--db", "idp.sqltie3", cwd=tmp_path)
    assert_one_line(result, "xaa idp clients suspend: idp.sqltie3: no such database")
    assert not (tmp_path / "idp.sqltie3").exists()


def test_rotation_before_the_staging_period_is_one_line(tmp_path: Path) -> None:
    served_db(tmp_path)
    result = run_xaa("idp", "keys", "rotate", "--db", "idp.db", cwd=tmp_path)
    assert_one_line(result, "xaa idp keys rotate:", "minimum staging period")


def test_bad_option_value_is_one_line(tmp_path: Path) -> None:
    result = run_xaa("idp", "audit", "--limit", "many", cwd=tmp_path)
    assert_one_line(result, "--limit")


def test_broker_db_in_missing_folder_is_one_line(tmp_path: Path) -> None:
    result = run_xaa("broker", "log", "--db", str(tmp_path / "nope" / "b.db"), cwd=tmp_path)
    assert_one_line(result, "--db", "folder does not exist")


def test_stage_then_rotate_once_the_staging_period_is_over(tmp_path: Path) -> None:
    served_db(tmp_path)
    staged = run_xaa("idp", "keys", "stage", "--db", "idp.db", cwd=tmp_path)
    assert staged.returncode == 0, staged.stderr
    kid = staged.stdout.split()[1].rstrip(":")
    refused = run_xaa("idp", "keys", "rotate", "--db", "idp.db", cwd=tmp_path)
    assert_one_line(refused, f"staged key {kid}", "rotate in")
    rotated = run_xaa("idp", "keys", "rotate", "--db", "idp.db", "--min-staging", "0", cwd=tmp_path)
    assert rotated.returncode == 0 and rotated.stdout.startswith(f"signing with {kid};")
    listing = run_xaa("idp", "keys", "list", "--db", "idp.db", cwd=tmp_path).stdout
    states = dict(line.split("\t") for line in listing.splitlines())
    assert states[kid] == "current" and sorted(states.values()) == ["current", "next", "retired"]


def test_unusable_client_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "agent.jwk").write_text('{"kty": "EC", "crv": "P-256"}')
    result = run_xaa(
        "conformance", "idp", "--issuer", "http://127.0.0.1:1", "--client-id", "agent",
        "--key", "agent.jwk", "--id-token-file", "agent.jwk", "--audience", "http://x",
        cwd=tmp_path,
    )  # fmt: skip
    assert_one_line(result, "agent.jwk")
