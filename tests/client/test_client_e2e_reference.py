"""End to end over loopback: the xaa client against the reference IdP (and resource, when built)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest

from tests.client.reference_stacks import Servers, reference_stack
from tests.support.servers import free_port, serve
from xaa import ProtocolViolation, SignInFailed, SigningKey, spec
from xaa.adapters import httpx2_client, httpx_client
from xaa.adapters.httpx_client import XAAAuth, XAAClient
from xaa.adapters.httpx_login import login_with_password
from xaa.cli import main
from xaa.client import (
    ClientConfig,
    ClientCredentials,
    IdentitySession,
    IdpConfig,
    PolicyDenied,
    ScopeNotGranted,
)

pytestmark = pytest.mark.e2e

CHAT_AS = "http://127.0.0.1:9500"  # the demo policy's resource AS (only named, not called here)
CHAT_API = CHAT_AS + "/api"
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"


@contextlib.contextmanager
def reference_idp(tmp_path: Path) -> Iterator[str]:
    from reference_idp.app import create_app
    from reference_idp.config import load_config
    from reference_idp.store import Store

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    store = Store(tmp_path / "idp.db")
    try:
        with serve(create_app(load_config().with_issuer(issuer), store), port=port) as base:
            yield base
    finally:
        store.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[str]:
    with reference_idp(tmp_path) as base:
        yield base


def wiki_client(idp: str, http: httpx.Client, password: str = "alice") -> XAAClient:
    credentials = ClientCredentials.secret_basic("wiki", "wiki-secret")
    session = login_with_password(http, idp, credentials, "alice", password, WIKI_REDIRECT)
    config = ClientConfig(
        IdpConfig(idp, credentials),
        {CHAT_AS: ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")},
    )
    return XAAClient(config, session=session, http=http)


def test_login_and_id_jag_from_the_reference_idp(idp: str) -> None:
    with httpx.Client() as http:
        client = wiki_client(idp, http)
        assert client.session is not None and client.session.refresh_token
        jag = client.get_id_jag(CHAT_AS, CHAT_API, "chat.read chat.history")
    assert jag.claims.iss == idp and jag.claims.aud == CHAT_AS
    assert jag.claims.client_id == "wiki-at-chat" and jag.claims.sub
    assert jag.scope == frozenset({"chat.read", "chat.history"})


def test_refresh_token_rung_against_the_reference_idp(idp: str) -> None:
    with httpx.Client() as http:
        client = wiki_client(idp, http)
        assert client.session is not None
        client.session.id_token = None  # as if the ID token had expired
        jag = client.get_id_jag(CHAT_AS, CHAT_API, "chat.read")
    assert jag.claims.aud == CHAT_AS


def test_reference_idp_denial_is_typed(idp: str) -> None:
    with httpx.Client() as http:
        client = wiki_client(idp, http)
        with pytest.raises(PolicyDenied):
            client.get_id_jag("https://unknown-as.example", None, "chat.read", client_id="x")


def test_wrong_password_is_not_a_protocol_violation(idp: str) -> None:
    with httpx.Client() as http, pytest.raises(SignInFailed) as caught:
        wiki_client(idp, http, password="wrong")
    assert not isinstance(caught.value, ProtocolViolation)
    assert "401" in str(caught.value)


def test_decode_cli(idp: str, capsys: pytest.CaptureFixture[str]) -> None:
    with httpx.Client() as http:
        jag = wiki_client(idp, http).get_id_jag(CHAT_AS, CHAT_API, "chat.read")
    assert main(["decode", jag.token]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NOT VERIFIED") and spec.TYP_ID_JAG in out and "wiki-at-chat" in out
    assert main(["decode", "garbage"]) == 2


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """The reference IdP and chat app on ephemeral ports, each configured for the other."""
    with reference_stack(tmp_path) as stack:
        yield stack


def agent_setup(servers: Servers, http: Any) -> tuple[ClientConfig, IdentitySession]:
    from reference_idp.config import load_config

    key = SigningKey.from_jwk(load_config().demo["agent_private_jwk"])
    credentials = ClientCredentials.private_key_jwt("agent", key)
    session = login_with_password(
        http, servers.idp, credentials, "alice", "alice", "http://127.0.0.1:9701/callback"
    )
    config = ClientConfig(
        IdpConfig(servers.idp, credentials),
        {servers.chat: ClientCredentials.secret_post("agent-at-chat", "agent-chat-secret")},
    )
    return config, session


def test_both_legs_and_the_api_with_xaaauth(servers: Servers) -> None:
    with httpx.Client() as http:
        config, session = agent_setup(servers, http)
    client = XAAClient(config, session=session)
    token = client.get_token(servers.api, "chat.read")
    assert token.issuer == servers.chat and token.scopes == frozenset({"chat.read"})
    assert client.get_token(servers.api, "chat.read") is token
    auth = XAAAuth(client, resource=servers.api, scope="chat.read")
    with httpx.Client(auth=auth) as api:
        response = api.get(servers.api + "/channels")
    assert response.status_code == 200
    client.close()


@pytest.mark.anyio
@pytest.mark.parametrize("module", [httpx, httpx2])
async def test_async_xaaauth_on_both_http_modules(servers: Servers, module: ModuleType) -> None:
    adapter = httpx_client if module is httpx else httpx2_client
    with httpx.Client() as http:
        config, session = agent_setup(servers, http)
    auth = adapter.XAAAuth(config, resource=servers.api, scope="chat.read", session=session)
    async with module.AsyncClient(auth=auth) as api:
        response = await api.get(servers.api + "/channels")
    assert response.status_code == 200
    with module.Client(auth=auth) as api:  # the same Auth object serves the sync client
        assert api.get(servers.api + "/channels").status_code == 200
    await auth.aclose()


def test_cli_token_login_both_legs(servers: Servers, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "token",
        "--idp", servers.idp,
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--login", "alice:alice",
        "--redirect-uri", WIKI_REDIRECT,
        "--resource", servers.api,
        "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret",
        "--scope", "chat.read chat.history",
        "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["issuer"] == servers.chat and result["resource"] == servers.api
    assert result["scope"] == "chat.history chat.read" and result["token_type"].lower() == "bearer"
    with httpx.Client() as api:
        headers = {"authorization": f"Bearer {result['access_token']}"}
        assert api.get(servers.api + "/channels", headers=headers).status_code == 200


def test_cli_token_with_agent_key_file(
    servers: Servers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reference_idp.config import load_config

    key_file = tmp_path / "agent.jwk"
    key_file.write_text(json.dumps(load_config().demo["agent_private_jwk"]))
    argv = [
        "token",
        "--idp", servers.idp,
        "--idp-client-id", "agent",
        "--idp-key", str(key_file),
        "--login", "bob:bob",
        "--redirect-uri", "http://127.0.0.1:9701/callback",
        "--resource", servers.api,
        "--client-id", "agent-at-chat",
        "--client-secret", "agent-chat-secret",
        "--client-auth", "client_secret_post",
        "--scope", "chat.read",
    ]  # fmt: skip
    assert main(argv) == 0
    assert "access_token: " in capsys.readouterr().out


def test_cli_token_policy_denial(servers: Servers, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "token",
        "--idp", servers.idp,
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--login", "alice:alice",
        "--redirect-uri", WIKI_REDIRECT,
        "--resource", servers.api,
        "--client-id", "wiki-at-chat",
        "--client-secret", "wrong-secret",
    ]  # fmt: skip
    assert main(argv) == 1
    assert "invalid_client" in capsys.readouterr().err


def test_cli_token_with_subject_token_file(
    servers: Servers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = ClientCredentials.secret_basic("wiki", "wiki-secret")
    with httpx.Client() as http:
        session = login_with_password(
            http, servers.idp, credentials, "alice", "alice", WIKI_REDIRECT
        )
    assert session.id_token is not None
    token_file = tmp_path / "id_token.jwt"
    token_file.write_text(session.id_token + "\n")
    argv = [
        "token",
        "--idp", servers.idp,
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--subject-token-file", str(token_file),
        "--resource", servers.api,
        "--authorization-server", servers.chat,
        "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret",
        "--scope", "chat.read",
        "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["scope"] == "chat.read"


def bob_agent(servers: Servers, http: Any) -> tuple[ClientConfig, IdentitySession]:
    """The agent signed in as bob (sales): the demo policy grants bob's agent chat.read only."""
    from reference_idp.config import load_config

    key = SigningKey.from_jwk(load_config().demo["agent_private_jwk"])
    credentials = ClientCredentials.private_key_jwt("agent", key)
    session = login_with_password(
        http, servers.idp, credentials, "bob", "bob", "http://127.0.0.1:9701/callback"
    )
    config = ClientConfig(
        IdpConfig(servers.idp, credentials),
        {servers.chat: ClientCredentials.secret_post("agent-at-chat", "agent-chat-secret")},
    )
    return config, session


def test_client_redeems_what_the_reference_idp_grants_bob(servers: Servers) -> None:
    with httpx.Client() as http:
        config, session = bob_agent(servers, http)
    client = XAAClient(config, session=session)
    token = client.get_token(servers.api, "chat.read chat.write")
    assert token.requested_scopes == frozenset({"chat.read", "chat.write"})
    assert token.granted_scopes == frozenset({"chat.read"})
    with httpx.Client() as api:
        headers = {"authorization": token.authorization()}
        assert api.get(servers.api + "/channels", headers=headers).status_code == 200
    client.close()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_step_up_bob_cannot_get_is_scope_not_granted_by_the_idp(
    servers: Servers, mode: str
) -> None:
    with httpx.Client() as http:
        config, session = bob_agent(servers, http)
    auth = XAAAuth(config, resource=servers.api, scope="chat.read", session=session)
    post = servers.api + "/channels/general/messages"
    if mode == "sync":
        with httpx.Client(auth=auth) as api:
            assert api.get(servers.api + "/channels").status_code == 200
            with pytest.raises(ScopeNotGranted) as caught:
                api.post(post, json={"text": "hello from bob's agent"})
    else:
        async with httpx.AsyncClient(auth=auth) as aapi:
            assert (await aapi.get(servers.api + "/channels")).status_code == 200
            with pytest.raises(ScopeNotGranted) as caught:
                await aapi.post(post, json={"text": "hello from bob's agent"})
    await auth.aclose()
    assert (caught.value.hop, caught.value.issuer) == ("idp-token-exchange", servers.idp)
    assert caught.value.missing == frozenset({"chat.write"})
    assert f"the IdP at {servers.idp} declined scope 'chat.write'" in str(caught.value)


def test_cli_token_reports_requested_and_granted_scope_for_bob(
    servers: Servers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reference_idp.config import load_config

    key_file = tmp_path / "agent.jwk"
    key_file.write_text(json.dumps(load_config().demo["agent_private_jwk"]))
    argv = [
        "token",
        "--idp", servers.idp,
        "--idp-client-id", "agent",
        "--idp-key", str(key_file),
        "--login", "bob:bob",
        "--redirect-uri", "http://127.0.0.1:9701/callback",
        "--resource", servers.api,
        "--client-id", "agent-at-chat",
        "--client-secret", "agent-chat-secret",
        "--client-auth", "client_secret_post",
        "--scope", "chat.read chat.write",
        "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["requested_scope"] == "chat.read chat.write"
    assert result["granted_scope"] == result["scope"] == "chat.read"
    assert "granted chat.read of chat.read chat.write" in captured.err


def test_cli_token_refusal_names_the_as_its_reason_and_where_it_is_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with reference_stack(tmp_path, trust_idp=False) as stack:
        argv = [
            "token",
            "--idp", stack.idp,
            "--idp-client-id", "wiki",
            "--idp-client-secret", "wiki-secret",
            "--login", "alice:alice",
            "--redirect-uri", WIKI_REDIRECT,
            "--resource", stack.api,
            "--client-id", "wiki-at-chat",
            "--client-secret", "wiki-chat-secret",
            "--scope", "chat.read",
        ]  # fmt: skip
        assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == [
        f"xaa token: the resource AS at {stack.chat} refused the ID-JAG: invalid_grant "
        "(The ID-JAG issuer is not trusted here.); the reason is in the resource AS's audit "
        "log (reference chat app: the `audit` lines of its log)"
    ]
    assert "Traceback" not in captured.err and captured.out == ""


def test_replayed_id_jag_is_refused_by_the_as_with_its_reason(servers: Servers) -> None:
    from xaa.client import TokenRequestRefused, jwt_bearer_request, raise_for_refusal

    with httpx.Client() as http:
        config, session = agent_setup(servers, http)
        client = XAAClient(config, session=session, http=http)
        jag = client.get_id_jag(servers.chat, servers.api, "chat.read")
        credentials = config.authorization_servers[servers.chat]
        request = jwt_bearer_request(
            servers.chat + "/token", credentials, as_issuer=servers.chat, assertion=jag, now=0
        )
        answers = [httpx_client.send(http, request) for _ in range(2)]
    assert answers[0].status == 200
    with pytest.raises(TokenRequestRefused) as caught:
        raise_for_refusal(answers[1], hop="resource-as-jwt-bearer", issuer=servers.chat)
    assert str(caught.value) == (
        f"the resource AS at {servers.chat} refused the ID-JAG: "
        "invalid_grant (The ID-JAG was already used.)"
    )


def test_cli_token_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    argv = [
        "token",
        "--idp", dead,
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--subject-token-file", __file__,
        "--resource", dead + "/api",
        "--authorization-server", dead,
        "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret",
    ]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"xaa token: cannot reach GET {dead}/")


def test_cli_token_unreadable_subject_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "token",
        "--idp", "https://idp.example",
        "--idp-client-id", "wiki",
        "--idp-client-secret", "wiki-secret",
        "--subject-token-file", str(tmp_path / "missing.jwt"),
        "--resource", "https://api.example/api",
        "--client-id", "wiki-at-chat",
        "--client-secret", "wiki-chat-secret",
    ]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xaa token: FileNotFoundError")
