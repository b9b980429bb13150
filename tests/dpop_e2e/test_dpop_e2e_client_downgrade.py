"""DPoP downgrade (draft §8.6.1.1 item 3), over loopback: a server that drops DPoP is caught.

ASGI middleware in front of a reference server strips the ``DPoP`` request header (an
IdP that ignores proofs) or rewrites ``token_type`` in the token response (an AS that
answers Bearer); the client refuses the result, and never presents an unbound ID-JAG.
Plus the nonce retry limit of one per hop.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dpop_e2e.dpop_e2e_support import (
    SCOPE,
    WIKI,
    WIKI_AT_CHAT,
    WIKI_REDIRECT,
    Stack,
    dpop_stack,
)
from xaa import HttpResponse, ProtocolViolation
from xaa.adapters.httpx_client import XAAClient
from xaa.adapters.httpx_login import login_with_password
from xaa.client import ClientConfig, ClientCredentials, IdpConfig, Request
from xaa.client._dpop import DpopKeyProver, send_with_nonce

pytestmark = pytest.mark.e2e


class StripDpop:
    """An IdP that ignores DPoP: the header never reaches the app; token paths recorded."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token_calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"dpop"]}
            self.token_calls += scope["path"] == "/token"
        await self.app(scope, receive, send)


class AnswerBearer:
    """An AS that says ``Bearer`` in its token response whatever it issued."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/token":
            await self.app(scope, receive, send)
            return
        held: list[dict[str, Any]] = []

        async def rewrite(message: dict[str, Any]) -> None:
            held.append(message)
            if message["type"] != "http.response.body" or message.get("more_body"):
                return
            start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
            data = json.loads(body)
            if "token_type" in data:
                data["token_type"] = "Bearer"
            body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


def _client(stack: Stack, prover: DpopKeyProver) -> XAAClient:
    with httpx.Client() as http:
        session = login_with_password(http, stack.idp, WIKI, "alice", "alice", WIKI_REDIRECT)
    config = ClientConfig(
        IdpConfig(stack.idp, WIKI),
        {stack.chat: ClientCredentials.secret_basic(*WIKI_AT_CHAT)},
        dpop=prover,
    )
    return XAAClient(config, session=session)


def test_idp_that_ignores_the_proof_is_a_downgrade(tmp_path: Path) -> None:
    """The ID-JAG comes back without ``cnf.jkt``: refused, never sent to the AS."""
    proxies: list[StripDpop] = []

    def wrap(app: Any) -> StripDpop:
        proxies.append(StripDpop(app))
        return proxies[0]

    redeemed: list[str] = []

    def watch_chat(app: Any) -> Any:
        async def watched(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/token":
                redeemed.append(scope["path"])
            await app(scope, receive, send)

        return watched

    with dpop_stack(tmp_path, wrap_idp=wrap, wrap_chat=watch_chat) as stack:
        client = _client(stack, DpopKeyProver.generate())
        with pytest.raises(ProtocolViolation) as caught:
            client.get_token(stack.api, SCOPE, authorization_server=stack.chat)
        client.close()
    assert caught.value.rule == "dpop-downgrade"
    assert proxies[0].token_calls >= 1 and redeemed == []


def test_as_that_answers_bearer_is_a_downgrade(tmp_path: Path) -> None:
    with dpop_stack(tmp_path, wrap_chat=AnswerBearer) as stack:
        client = _client(stack, DpopKeyProver.generate())
        with pytest.raises(ProtocolViolation) as caught:
            client.get_token(stack.api, SCOPE, authorization_server=stack.chat)
        client.close()
    assert caught.value.rule == "token-type"


@pytest.fixture
def prover() -> DpopKeyProver:
    return DpopKeyProver.generate()


def _challenge(nonce: str) -> HttpResponse:
    body = json.dumps({"error": "use_dpop_nonce"}).encode()
    return HttpResponse(400, {"dpop-nonce": nonce, "content-type": "application/json"}, body)


def test_nonce_retry_limit_is_one_per_hop(prover: DpopKeyProver) -> None:
    """A server that keeps asking for a new nonce gets two requests, then its error back."""
    url = "https://as.example/token"
    built: list[str | None] = []

    def build(nonce: str | None) -> Request:
        built.append(nonce)
        return Request("POST", url, {"dpop": prover.proof("POST", url, nonce=nonce)})

    flow = send_with_nonce(build, prover)
    first = next(flow)
    retry = flow.send(_challenge("n-1"))
    assert first.headers["dpop"] != retry.headers["dpop"]
    second = _challenge("n-2")
    with pytest.raises(StopIteration) as done:
        flow.send(second)
    assert done.value.value is second and built == [None, "n-1"]


def test_prover_reuses_the_last_nonce_of_each_origin(prover: DpopKeyProver) -> None:
    from xaa import InvalidRequest, parse_compact

    def nonce_of(proof: str) -> Any:
        return parse_compact(proof, error=InvalidRequest).payload.get("nonce")

    prover.proof("POST", "https://as.example/token", nonce="n-as")
    assert nonce_of(prover.proof("GET", "https://as.example/api")) == "n-as"
    assert nonce_of(prover.proof("POST", "https://idp.example/token")) is None
    assert "n-as" not in repr(prover) and "d" not in prover.key.public_jwk()


def test_no_retry_without_dpop() -> None:
    flow = send_with_nonce(lambda nonce: Request("POST", "https://as.example/token"), None)
    next(flow)
    with pytest.raises(StopIteration) as done:
        flow.send(_challenge("n-1"))
    assert done.value.value.status == 400
