"""DPoP on every hop over loopback: the xaa client, the reference IdP and the chat app.

Memory and Redis replay stores; ES256 and EdDSA keys; sync and async, httpx and httpx2;
server nonces on every hop; the CLI; the demo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import httpx2
import pytest

from demo.dpop import run_dpop_demo
from tests.dpop_e2e.dpop_e2e_support import (
    SCOPE,
    WIKI,
    WIKI_AT_CHAT,
    WIKI_REDIRECT,
    Stack,
    claims,
    dpop_stack,
)
from xaa.adapters import httpx2_client, httpx_client
from xaa.adapters.httpx_login import login_with_password
from xaa.cli import main
from xaa.client import ClientConfig, ClientCredentials, DpopKeyProver, IdentitySession, IdpConfig
from xaa.dpop import DpopKey

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["memory", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    replay = "memory"
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
        replay = request.getfixturevalue("redis_url")
    with dpop_stack(tmp_path, replay=replay) as running:
        yield running


def _client_config(stack: Stack, prover: DpopKeyProver) -> tuple[ClientConfig, IdentitySession]:
    with httpx.Client() as http:
        session = login_with_password(http, stack.idp, WIKI, "alice", "alice", WIKI_REDIRECT)
    config = ClientConfig(
        IdpConfig(stack.idp, WIKI),
        {stack.chat: ClientCredentials.secret_basic(*WIKI_AT_CHAT)},
        dpop=prover,
    )
    return config, session


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_every_hop_bound_to_the_client_key(stack: Stack, alg: str) -> None:
    prover = DpopKeyProver.generate(alg)
    config, session = _client_config(stack, prover)
    client = httpx_client.XAAClient(config, session=session)
    jag = client.get_id_jag(stack.chat, stack.api, SCOPE)
    assert jag.claims.cnf is not None and jag.claims.cnf.jkt == prover.thumbprint
    token = client.get_token(stack.api, SCOPE, authorization_server=stack.chat)
    assert token.token_type == "DPoP"
    assert claims(token.token)["cnf"] == {"jkt": prover.thumbprint}
    auth = httpx_client.XAAAuth(client, resource=stack.api, scope=SCOPE)
    with httpx.Client(auth=auth) as api:
        first = api.get(stack.api + "/channels")
        second = api.get(stack.api + "/channels?x=1")  # a fresh proof per request
    assert first.status_code == 200 and second.status_code == 200
    assert first.request.headers["authorization"].startswith("DPoP ")
    assert first.request.headers["dpop"] != second.request.headers["dpop"]
    replayed = httpx.get(first.request.url, headers=dict(first.request.headers))
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_dpop_proof"
    stolen = httpx.get(stack.api + "/channels", headers={"authorization": f"Bearer {token.token}"})
    assert stolen.status_code == 401 and stolen.json()["error"] == "invalid_token"
    client.close()


@pytest.mark.anyio
@pytest.mark.parametrize("module", [httpx, httpx2])
async def test_async_on_both_http_modules(stack: Stack, module: ModuleType) -> None:
    adapter = httpx_client if module is httpx else httpx2_client
    prover = DpopKeyProver.generate()
    config, session = _client_config(stack, prover)
    auth = adapter.XAAAuth(config, resource=stack.api, scope=SCOPE, session=session)
    async with module.AsyncClient(auth=auth) as api:
        response = await api.get(stack.api + "/channels")
    assert response.status_code == 200
    assert response.request.headers["authorization"].startswith("DPoP ")
    await auth.aclose()


def test_server_nonces_on_every_hop_are_retried_once(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def record(response: httpx.Response) -> None:
        seen.append(
            (f"{response.request.url.port}{response.request.url.path}", response.status_code)
        )

    with dpop_stack(tmp_path, nonces=True) as stack:
        idp_port, chat_port = stack.idp.rsplit(":", 1)[1], stack.chat.rsplit(":", 1)[1]
        config, session = _client_config(stack, DpopKeyProver.generate())
        http = httpx.Client(event_hooks={"response": [record]})
        client = httpx_client.XAAClient(config, session=session, http=http)
        auth = httpx_client.XAAAuth(client, resource=stack.api, scope=SCOPE)
        with httpx.Client(auth=auth, event_hooks={"response": [record]}) as api:
            assert api.get(stack.api + "/channels").status_code == 200
            assert api.get(stack.api + "/channels").status_code == 200
        client.close()
    token_calls = [(where, status) for where, status in seen if where.endswith("/token")]
    assert token_calls == [
        (f"{idp_port}/token", 400),  # use_dpop_nonce, then the retry with the nonce
        (f"{idp_port}/token", 200),
        (f"{chat_port}/token", 400),
        (f"{chat_port}/token", 200),
    ]
    # The API shares the AS's origin and nonce: no further challenge.
    assert [s for w, s in seen if w.endswith("/channels")] == [200, 200]


def test_required_dpop_resource(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, required=True) as stack:
        config, session = _client_config(stack, DpopKeyProver.generate())
        auth = httpx_client.XAAAuth(config, resource=stack.api, scope=SCOPE, session=session)
        with httpx.Client(auth=auth) as api:
            assert api.get(stack.api + "/channels").status_code == 200
        prm = httpx.get(stack.chat + "/.well-known/oauth-protected-resource/api").json()
        assert prm["dpop_bound_access_tokens_required"] is True
        auth.close()


def test_metadata_advertises_dpop(stack: Stack) -> None:
    idp_meta = httpx.get(stack.idp + "/.well-known/openid-configuration").json()
    as_meta = httpx.get(stack.chat + "/.well-known/oauth-authorization-server").json()
    for meta in (idp_meta, as_meta):
        assert {"ES256", "EdDSA"} <= set(meta["dpop_signing_alg_values_supported"])
        assert "none" not in meta["dpop_signing_alg_values_supported"]
        assert not any(a.startswith("HS") for a in meta["dpop_signing_alg_values_supported"])
    assert "urn:ietf:params:oauth:grant-type:jwt-dpop" in as_meta["grant_types_supported"]


def test_cli_token_dpop_both_legs(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = DpopKey.generate()
    key_file = tmp_path / "dpop.jwk"
    key_file.write_text(json.dumps(key.private_jwk()))
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
        "--scope", SCOPE,
        "--dpop-key", str(key_file),
        "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["token_type"] == "DPoP" and result["dpop_jkt"] == key.jkt
    assert claims(result["access_token"])["cnf"] == {"jkt": key.jkt}
    assert main([*argv[:-3], "--dpop"]) == 0
    assert "token_type: DPoP" in capsys.readouterr().out


def test_demo_prints_a_dpop_run(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    run_dpop_demo(stack.idp, stack.chat)
    out = capsys.readouterr().out
    assert '"cnf": {' in out and "cnf.jkt is our key's thumbprint: True" in out
    assert "token_type: DPoP" in out
    assert "-> HTTP 200" in out and "-> HTTP 401 invalid_token" in out
