"""Actor chains end to end over loopback: IdP -> ID-JAG act -> access token act -> chat API.

Positive cases of docs/actors.md: one actor (a SPIFFE JWT-SVID, through the client's
actor-token provider and through ``xaa token --actor-token-file``), two nested
actors (the platform's access token), scope narrowing, the chain at the API
and in the IdP, AS and RS audit logs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.actors import PLATFORM_ISSUER, SPIRE_ISSUER, SUMMARIZER, TRIAGE
from tests.actors_e2e.actor_stack import (
    AGENT,
    CHAT_CLIENT,
    DEMO,
    SCOPE,
    Stack,
    running_stack,
    unverified,
)
from xaa import Actor, AuditEvent, spec
from xaa.actors import ActorTokenUnavailable
from xaa.adapters.actor_files import FileActorTokenProvider
from xaa.adapters.httpx_client import XAAClient
from xaa.cli import main
from xaa.client import ClientConfig, ClientCredentials, IdentitySession, IdpConfig

pytestmark = pytest.mark.e2e

TRIAGE_ACT = {"sub": TRIAGE, "iss": SPIRE_ISSUER}
TWO_HOP_ACT = {"sub": SUMMARIZER, "iss": PLATFORM_ISSUER, "act": TRIAGE_ACT}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


def _client(stack: Stack, provider: FileActorTokenProvider) -> XAAClient:
    config = ClientConfig(
        IdpConfig(stack.idp, AGENT),
        {stack.chat: ClientCredentials.secret_post(*CHAT_CLIENT)},
        actor_tokens=provider,
    )
    session = IdentitySession(id_token=stack.login(), subject="alice")
    return XAAClient(config, session=session, http=stack.http)


def test_one_spiffe_actor_through_the_client_provider(stack: Stack, tmp_path: Path) -> None:
    svid_file = tmp_path / "svid.jwt"
    svid_file.write_text(stack.svid())
    client = _client(stack, FileActorTokenProvider(svid_file))
    jag = client.get_id_jag(stack.chat, stack.api, SCOPE)
    assert jag.claims.act is not None
    assert jag.claims.act.model_dump(exclude_none=True) == TRIAGE_ACT
    assert jag.claims.client_id == "agent-at-chat"  # the client stays out of the chain
    token = client.get_token(stack.api, SCOPE, authorization_server=stack.chat)
    assert unverified(token.token)["act"] == TRIAGE_ACT
    message = stack.post(token.token)
    assert message["attribution"] == f"alice via {TRIAGE}"
    assert message["actors"] == [TRIAGE] and message["act"] == TRIAGE_ACT


def test_two_nested_actors_from_the_platform_access_token(stack: Stack) -> None:
    earlier = Actor.model_validate(TRIAGE_ACT)
    actor_token = stack.platform_token(SUMMARIZER, earlier)
    jag = stack.id_jag(stack.login(), actor_token, spec.TOKEN_TYPE_ACCESS_TOKEN)
    assert unverified(jag)["act"] == TWO_HOP_ACT
    access = stack.access_token(jag)
    assert unverified(access)["act"] == TWO_HOP_ACT  # carried unchanged by the AS
    message = stack.post(access)
    assert message["attribution"] == f"alice via {TRIAGE} via {SUMMARIZER}"
    listed = stack.http.get(
        stack.api + "/channels/general/messages", headers={"authorization": f"Bearer {access}"}
    ).json()["messages"]
    assert listed[-1]["attribution"] == message["attribution"]


def test_chain_is_exposed_to_the_api(stack: Stack) -> None:
    access = stack.access_token(stack.id_jag(stack.login(), stack.svid()))
    who = stack.http.get(stack.api, headers={"authorization": f"Bearer {access}"}).json()["you"]
    assert who["actors"] == [TRIAGE] and who["act"] == TRIAGE_ACT
    assert who["on_behalf"].endswith(f" via {TRIAGE}")


def test_without_actor_token_nothing_changes(stack: Stack) -> None:
    jag = stack.id_jag(stack.login())
    assert "act" not in unverified(jag)
    assert stack.post(stack.access_token(jag))["attribution"] == "alice"


def test_actor_ceiling_narrows_the_scope(tmp_path: Path) -> None:
    with running_stack(tmp_path, actor_scopes=["chat.read"]) as stack:
        subject = stack.login()
        assert stack.exchange(subject).json().get("scope") is None  # client policy: both
        response = stack.exchange(subject, stack.svid())
        assert response.status_code == 200
        assert response.json()["scope"] == "chat.read"
        assert unverified(response.json()["access_token"])["scope"] == "chat.read"


def _who_for(events: list[AuditEvent], actor: str) -> set[tuple[str, str | None, str]]:
    """The one query: what did ``actor`` do (event), on behalf of whom (IdP subject)."""
    return {
        (e.event, e.extra.get("idp_sub") or e.subject, e.decision)
        for e in events
        if actor in e.actors
    }


def test_one_query_over_the_three_audit_logs(stack: Stack) -> None:
    earlier = Actor.model_validate(TRIAGE_ACT)
    one_hop = stack.access_token(stack.id_jag(stack.login(), stack.svid()))
    stack.post(one_hop)
    two_hops = stack.id_jag(
        stack.login(),
        stack.platform_token(SUMMARIZER, earlier),
        spec.TOKEN_TYPE_ACCESS_TOKEN,
    )
    stack.post(stack.access_token(two_hops))
    events = stack.idp_store.audit_events() + stack.chat_store.audit_events()
    assert _who_for(events, TRIAGE) == {
        ("token_exchange.id_jag", "alice", "issued"),
        ("jwt_bearer", "alice", "issued"),
        ("resource.request", "alice", "issued"),
    }
    assert _who_for(events, SUMMARIZER) == _who_for(events, TRIAGE)
    chains = {tuple(e.actors) for e in events if e.event == "resource.request"}
    assert chains == {(TRIAGE,), (SUMMARIZER, TRIAGE)}  # current actor first
    api = [e for e in events if e.event == "resource.request"]
    assert all(e.extra["path"] == "/api/channels/general/messages" for e in api)
    assert all(one_hop not in e.model_dump_json() for e in events)  # never a token


def test_cli_token_with_actor_token_file(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file, svid_file = tmp_path / "agent.jwk", tmp_path / "svid.jwt"
    key_file.write_text(json.dumps(DEMO["agent_private_jwk"]))
    svid_file.write_text(stack.svid())
    # fmt: off
    args = [
        "token", "--idp", stack.idp, "--idp-client-id", "agent", "--idp-key", str(key_file),
        "--login", "alice:alice", "--redirect-uri", "http://127.0.0.1:9701/callback",
        "--resource", stack.api, "--authorization-server", stack.chat,
        "--client-id", CHAT_CLIENT[0], "--client-secret", CHAT_CLIENT[1],
        "--client-auth", spec.AUTH_CLIENT_SECRET_POST, "--scope", SCOPE,
        "--actor-token-file", str(svid_file), "--actor-token-type", spec.TOKEN_TYPE_JWT, "--json",
    ]
    # fmt: on
    assert main(args) == 0
    access = json.loads(capsys.readouterr().out)["access_token"]
    assert unverified(access)["act"] == TRIAGE_ACT


def test_expired_actor_token_file_stops_before_any_request(stack: Stack, tmp_path: Path) -> None:
    svid_file = tmp_path / "svid.jwt"
    now = int(time.time())
    svid_file.write_text(stack.svid(iat=now - 400, exp=now - 100))
    client = _client(stack, FileActorTokenProvider(svid_file))
    before = len(stack.idp_store.audit_events())
    with pytest.raises(ActorTokenUnavailable):
        client.get_id_jag(stack.chat, stack.api, SCOPE)
    after = [e.event for e in stack.idp_store.audit_events()[before:]]
    assert "token_exchange.id_jag" not in after


def test_actor_demo_prints_the_two_hop_chain(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    from demo.actors import run_actor_demo

    run_actor_demo(stack.idp, stack.chat)
    out = capsys.readouterr().out
    assert f"chat message by:  alice via {TRIAGE}\n" in out
    assert f"chat message by:  alice via {TRIAGE} via {SUMMARIZER}\n" in out
    assert json.dumps(TWO_HOP_ACT) in out


def test_per_call_actor_token_bypasses_the_cache(stack: Stack) -> None:
    config = ClientConfig(
        IdpConfig(stack.idp, AGENT), {stack.chat: ClientCredentials.secret_post(*CHAT_CLIENT)}
    )
    session = IdentitySession(id_token=stack.login(), subject="alice")
    client = XAAClient(config, session=session, http=stack.http)
    actor_token = stack.platform_token(SUMMARIZER, Actor.model_validate(TRIAGE_ACT))
    acting = client.get_token(
        stack.api,
        SCOPE,
        authorization_server=stack.chat,
        actor_token=actor_token,
        actor_token_type=spec.TOKEN_TYPE_ACCESS_TOKEN,
    )
    assert unverified(acting.token)["act"] == TWO_HOP_ACT
    alone = client.get_token(stack.api, SCOPE, authorization_server=stack.chat)
    assert "act" not in unverified(alone.token)  # not served the actor's cached token
    assert client.get_token(stack.api, SCOPE, authorization_server=stack.chat) == alone
