"""``xaa token`` as docs/client.md ("Command line") shows it, and the failures a user meets
next: a wrong password, a wrong client secret, a malformed option, an IdP that narrows
the scope. Each is one line on stderr naming the server, exit 1 (flow) or 2 (usage),
never a traceback. Run as a subprocess against the reference servers on free ports."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.stack import ReferenceServers
from xaa.adapters.httpx_client import XAAClient
from xaa.cli._token import _narrowing_notes
from xaa.client import AccessToken

REDIRECT = "http://127.0.0.1:9700/callback"
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def servers() -> Iterator[ReferenceServers]:
    with ReferenceServers() as running:
        yield running


def xaa_token(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xaa", "token", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wiki(servers: ReferenceServers, *, login: str = "alice:alice", **over: str) -> list[str]:
    """The docs' wiki invocation; ``over`` replaces an option's value (``idp_client_secret``)."""
    options = {
        "idp": servers.idp,
        "idp_client_id": "wiki",
        "idp_client_secret": "wiki-secret",
        "login": login,
        "redirect_uri": REDIRECT,
        "resource": servers.chat + "/api",
        "client_id": "wiki-at-chat",
        "client_secret": "wiki-chat-secret",
        "scope": "chat.read chat.history",
    } | over
    flags = [("--" + name.replace("_", "-"), value) for name, value in options.items()]
    return [item for pair in flags for item in pair]


def one_line(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("xaa token: ")
    return lines[0]


def test_token_as_the_docs_show_prints_the_granted_scope(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    result = xaa_token(*wiki(servers), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["scope"] == printed["granted_scope"] == "chat.history chat.read"
    assert printed["requested_scope"] == "chat.history chat.read"
    assert printed["issuer"] == servers.chat and printed["token_type"] == "Bearer"
    assert result.stderr == ""  # nothing narrowed: no note


def test_token_wrong_password_is_one_line_naming_the_idp_not_a_traceback(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    line = one_line(xaa_token(*wiki(servers, login="alice:wrong"), cwd=tmp_path), 1)
    assert f"the IdP at {servers.idp} refused the sign-in of 'alice'" in line
    assert "wrong" not in line.replace("wrong username", "")  # the password is not echoed


@pytest.mark.parametrize("login", ["alice", ":alice"])
def test_token_login_without_user_and_password_is_a_usage_error(
    servers: ReferenceServers, tmp_path: Path, login: str
) -> None:
    line = one_line(xaa_token(*wiki(servers, login=login), cwd=tmp_path), 2)
    assert "--login takes USER:PASSWORD" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [("resource", "chat"), ("idp", "http://idp.example"), ("authorization_server", "as")],
)
def test_token_url_option_that_is_not_https_is_a_usage_error_naming_the_option(
    servers: ReferenceServers, tmp_path: Path, option: str, value: str
) -> None:
    line = one_line(xaa_token(*wiki(servers, **{option: value}), cwd=tmp_path), 2)
    assert f"--{option.replace('_', '-')} {value!r} is not an https URL" in line


def test_token_login_without_redirect_uri_is_a_usage_error_before_any_request(
    tmp_path: Path,
) -> None:
    result = xaa_token(
        "--idp", "http://127.0.0.1:9", "--idp-client-id", "wiki", "--idp-client-secret", "s",
        "--login", "alice:alice", "--resource", "http://127.0.0.1:9/api",
        "--client-id", "c", "--client-secret", "d", cwd=tmp_path,
    )  # fmt: skip
    assert "--login needs --redirect-uri" in one_line(result, 2)  # not "cannot reach"


def test_token_wrong_idp_client_secret_names_the_hop_and_the_idp(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    result = xaa_token(*wiki(servers, idp_client_secret="not-it"), cwd=tmp_path)
    line = one_line(result, 1)
    assert f"at {servers.idp} refused the token request: invalid_client" in line
    assert "not-it" not in result.stderr


def test_token_resource_as_refusal_names_the_hop_and_the_server(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    line = one_line(xaa_token(*wiki(servers, client_secret="not-it"), cwd=tmp_path), 1)
    assert f"the resource AS at {servers.chat} refused the ID-JAG: invalid_client" in line
    assert "audit" in line


def test_token_note_names_the_idp_when_the_idp_narrows_the_scope(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    """The demo policy grants bob chat.read only: the note says the IdP declined chat.write."""
    result = xaa_token(*wiki(servers, login="bob:bob", scope="chat.read chat.write"), cwd=tmp_path)
    line = one_line(result, 0)
    assert line == (
        f"xaa token: note: the IdP at {servers.idp} declined chat.write "
        "(granted chat.read of chat.read chat.write; by its policy)"
    )
    assert "granted_scope: chat.read\n" in result.stdout


def test_library_token_says_which_server_narrowed_the_scope(servers: ReferenceServers) -> None:
    client = XAAClient(servers.wiki_config(), session=servers.sign_in("bob", "bob"))
    try:
        token = client.get_token(servers.chat + "/api", "chat.read chat.write")
    finally:
        client.close()
    assert token.id_jag_scopes == {"chat.read"}
    assert token.idp_declined_scopes == token.declined_scopes == {"chat.write"}


def test_narrowing_note_names_the_resource_as_for_its_part() -> None:
    token = AccessToken(
        "t", "Bearer", 0.0, frozenset({"a"}), "https://api.example", "https://as.example",
        requested_scopes=frozenset({"a", "b", "c"}), id_jag_scopes=frozenset({"a", "b"}),
    )  # fmt: skip
    assert _narrowing_notes(token, "https://idp.example") == [
        "the IdP at https://idp.example declined c (granted a b of a b c; by its policy)",
        "the resource AS at https://as.example declined b (granted a; by its policy)",
    ]


def test_token_missing_actor_token_file_is_a_usage_error(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    result = xaa_token(*wiki(servers), "--actor-token-file", "absent.jwt", cwd=tmp_path)
    assert "--actor-token-file 'absent.jwt' is not a file" in one_line(result, 2)


def doc_commands() -> list[list[str]]:
    """The ``xaa token`` / ``python -c`` commands of docs/client.md's ```sh blocks, as argv."""
    text = (ROOT / "docs" / "client.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(command)
            if argv[:2] == ["xaa", "token"] or argv[:1] == ["python"]:
                commands.append(argv)
    return commands


def test_token_commands_of_the_docs_run_as_printed(
    servers: ReferenceServers, tmp_path: Path
) -> None:
    """docs/client.md "Command line", every command as printed, the ports swapped for the
    running servers': each prints a token (the agent's key file made by the docs' own line)."""
    ran = 0
    for argv in doc_commands():
        argv = [
            arg.replace("http://127.0.0.1:9400", servers.idp).replace(
                "http://127.0.0.1:9500", servers.chat
            )
            for arg in argv
        ]
        if argv[0] == "python":
            out = argv.index(">")
            with (tmp_path / argv[out + 1]).open("w") as target:
                made = subprocess.run(
                    [sys.executable, *argv[1:out]], cwd=ROOT, stdout=target, check=False
                )
            assert made.returncode == 0
            continue
        result = xaa_token(*argv[2:], cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        printed = result.stdout
        token = (
            json.loads(printed)
            if "--json" in argv
            else dict(line.split(": ", 1) for line in printed.splitlines())
        )
        assert token["issuer"] == servers.chat and token["access_token"].count(".") == 2
        ran += 1
    assert ran == 2


@pytest.mark.parametrize(
    ("token", "line"),
    [
        ("eyJhbGciOi...", "xaa decode: not a JWT (compact JWS)"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "xaa decode: not a JWT (compact JWS): empty"),
    ],
)
def test_decode_of_a_non_jwt_says_so_once(tmp_path: Path, token: str, line: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xaa", "decode", token],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.startswith(line)
    assert result.stderr.count("compact JWS") == 1
