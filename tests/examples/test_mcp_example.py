"""examples/mcp end to end: the reference IdP, the example MCP server, the example client.

The IdP runs examples/mcp/idp.toml with its ports rewritten to free ones; the
client signs alice in, gets its token through XAA (ID-JAG from the IdP,
redeemed at the example's authorization server) and calls the tools.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest

from examples.mcp import client as mcp_client
from examples.mcp.server import build_app
from reference_idp.app import create_app as create_idp
from reference_idp.config import load_config
from reference_idp.store import Store
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "examples" / "mcp"


@dataclass
class Running:
    idp: str
    server: str

    @property
    def mcp(self) -> str:
        return self.server + "/mcp"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("mcp-example")
    idp_port, server_port = free_port(), free_port()
    idp, server = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{server_port}"
    text = (EXAMPLE / "idp.toml").read_text()
    text = text.replace("http://127.0.0.1:9400", idp).replace("http://127.0.0.1:9800", server)
    (tmp / "idp.toml").write_text(text)
    store = Store(tmp / "idp.sqlite3")
    try:
        with (
            serve(create_idp(load_config(tmp / "idp.toml"), store), idp_port),
            serve(build_app(server, idp), server_port),
        ):
            yield Running(idp, server)
    finally:
        store.close()


def test_mcp_example_client_calls_the_tools_with_an_xaa_token(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    mcp_client.main(["--idp", running.idp, "--server", running.mcp, "--note", "first note"])
    result = json.loads(capsys.readouterr().out)
    who = result["whoami"]
    assert who["client_id"] == "assistant-at-notes" and who["idp"] == running.idp
    assert sorted(who["scopes"]) == ["notes.read", "notes.write"]
    assert result["add_note"] == {"account": who["account"], "notes": ["first note"]}


def test_mcp_example_tool_refuses_a_token_without_notes_write(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    session = mcp_client.sign_in(running.idp, "bob", "bob")  # sales: notes.read only
    with pytest.raises(RuntimeError, match=r"notes\.write is needed"):
        anyio.run(
            lambda: mcp_client.run(session, idp=running.idp, server=running.mcp, scope="notes.read")
        )
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a refusal"


def test_mcp_example_with_the_sdk_identity_assertion_provider(running: Running) -> None:
    session = mcp_client.sign_in(running.idp)
    result = anyio.run(
        lambda: mcp_client.run(
            session, idp=running.idp, server=running.mcp, note="via the SDK", sdk_auth=True
        )
    )
    assert result["whoami"]["client_id"] == "assistant-at-notes"
    assert result["add_note"]["notes"][-1] == "via the SDK"


def test_mcp_example_metadata_advertises_only_what_is_served(running: Running) -> None:
    as_meta = httpx.get(running.server + "/.well-known/oauth-authorization-server").json()
    assert as_meta["issuer"] == running.server
    assert as_meta["grant_types_supported"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert as_meta["authorization_grant_profiles_supported"] == [
        "urn:ietf:params:oauth:grant-profile:id-jag"
    ]
    jwks = httpx.get(as_meta["jwks_uri"]).json()
    assert [k["kid"] for k in jwks["keys"]] == ["notes-as-1"]
    prm = httpx.get(running.server + "/.well-known/oauth-protected-resource/mcp").json()
    assert prm["resource"] == running.mcp and prm["authorization_servers"] == [running.server]
    unauthenticated = httpx.post(running.mcp, json={})
    assert unauthenticated.status_code == 401
    assert "resource_metadata=" in unauthenticated.headers["www-authenticate"]


def test_mcp_example_refuses_the_code_grant_it_does_not_advertise(running: Running) -> None:
    refused = httpx.post(
        running.server + "/token",
        data={
            "grant_type": "authorization_code",
            "code": "c",
            "code_verifier": "v" * 43,
            "client_id": "assistant-at-notes",
        },
        auth=("assistant-at-notes", "assistant-notes-secret"),
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"
    assert refused.headers["cache-control"] == "no-store"


def test_mcp_example_client_with_the_server_origin_instead_of_the_mcp_url_is_one_line(
    running: Running,
) -> None:
    """The user passes ``--server http://host:port`` (the server's ``--issuer``) without
    ``/mcp``: one line naming the metadata URL tried, not an ExceptionGroup traceback."""
    with pytest.raises(SystemExit) as failed:
        mcp_client.main(["--idp", running.idp, "--server", running.server])
    message = str(failed.value.code)
    assert message.startswith("examples.mcp.client: ProtocolViolation: resource-metadata:")
    assert f"{running.server}/.well-known/oauth-protected-resource" in message
    assert "\n" not in message


def test_mcp_example_client_with_the_idp_down_names_the_url(running: Running) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as failed:
        mcp_client.main(["--idp", dead, "--server", running.mcp])
    message = str(failed.value.code)
    assert message.startswith("examples.mcp.client: ConnectError:")
    assert f"(GET {dead}/.well-known/oauth-authorization-server)" in message


def test_mcp_example_client_prints_what_its_readme_shows(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (EXAMPLE / "README.md").read_text()
    shown = json.loads(readme.split("the account id varies):\n\n```text\n", 1)[1].split("```")[0])
    mcp_client.main(["--idp", running.idp, "--server", running.mcp, "--note", "hello from alice"])
    printed = json.loads(capsys.readouterr().out)
    account = printed["whoami"]["account"]
    shown["whoami"] |= {"account": account, "idp": running.idp}
    shown["add_note"]["account"] = account
    assert printed["whoami"] == shown["whoami"]
    assert printed["add_note"]["account"] == account
    assert printed["add_note"]["notes"][-1] == shown["add_note"]["notes"][-1]
