"""Every refusal of ``POST /v1/token``: its own code, status, ``no-store``, the whole body."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.broker_service.service_stack import ServiceStack, ask, service_stack, sign_in
from xaa import SigningKey

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    with service_stack(Path(tmp_path_factory.mktemp("refusals"))) as running:
        yield running


def refused(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body
    if status == 401:
        challenge = response.headers["www-authenticate"]
        assert challenge == 'Bearer realm="xaa-broker", error="invalid_token"'


def test_agent_outside_its_apps_is_refused(stack: ServiceStack) -> None:
    answer = ask(stack.broker, "legacy-chat", ["chat.read"], assertion=stack.assertion())
    refused(
        answer,
        403,
        {
            "error": "app_not_allowed",
            "error_description": "The agent reporter may not use this app.",
        },
    )


def test_agent_outside_its_scopes_is_refused(stack: ServiceStack) -> None:
    answer = ask(stack.broker, "chat", ["chat.read", "chat.write"], svid=stack.svid())
    refused(
        answer,
        403,
        {
            "error": "scope_not_allowed",
            "error_description": "The agent summarizer may not ask for these scopes.",
            "scopes": ["chat.write"],
        },
    )


def test_svid_signed_by_an_unknown_key_is_refused(stack: ServiceStack) -> None:
    forged = stack.svid(key=SigningKey.generate(kid="spire-demo-1"))
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=forged),
        401,
        {"error": "invalid_agent", "error_description": "The JWT-SVID is not trusted."},
    )


def test_svid_of_an_unregistered_workload_is_refused(stack: ServiceStack) -> None:
    stranger = stack.svid("spiffe://acme.example/agent/stranger")
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=stranger),
        401,
        {"error": "invalid_agent", "error_description": "No agent has this SPIFFE ID."},
    )


def test_svid_for_another_audience_is_refused(stack: ServiceStack) -> None:
    elsewhere = stack.svid(audience="https://other.example")
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=elsewhere),
        401,
        {"error": "invalid_agent", "error_description": "The JWT-SVID is not trusted."},
    )


def test_expired_svid_is_refused(stack: ServiceStack) -> None:
    old = stack.svid(now=time.time() - 3600)
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=old),
        401,
        {"error": "credential_expired", "error_description": "The JWT-SVID has expired."},
    )


def test_replayed_client_assertion_is_refused(stack: ServiceStack) -> None:
    assertion = stack.assertion()
    first = ask(stack.broker, "chat", ["chat.read"], assertion=assertion, person="bob")
    assert first.json()["error"] == "consent_required"  # authenticated; bob never signed in
    refused(
        ask(stack.broker, "chat", ["chat.read"], assertion=assertion, person="bob"),
        401,
        {
            "error": "credential_replayed",
            "error_description": "The client assertion was already used.",
        },
    )


def test_suspended_agent_is_refused(stack: ServiceStack) -> None:
    paused = stack.svid("spiffe://acme.example/agent/paused")
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=paused),
        403,
        {
            "error": "agent_suspended",
            "error_description": "The agent paused is suspended by its owner.",
        },
    )


def test_no_credential_is_refused(stack: ServiceStack) -> None:
    refused(
        ask(stack.broker, "chat", ["chat.read"]),
        401,
        {"error": "invalid_agent", "error_description": "The agent did not authenticate."},
    )


def test_person_without_a_sign_in_needs_consent_for_xaa(stack: ServiceStack) -> None:
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=stack.svid(), person="carol"),
        403,
        {
            "error": "consent_required",
            "error_description": "carol must connect chat first (sign in at the IdP first).",
            "consent_url": stack.broker + "/connect/chat",
            "strategy": "xaa",
        },
    )


def _post(stack: ServiceStack, content: bytes, content_type: str = "application/json") -> Any:
    headers = {"authorization": f"Bearer {stack.svid()}", "content-type": content_type}
    return httpx.post(stack.broker + "/v1/token", content=content, headers=headers)


@pytest.mark.parametrize(
    ("content", "content_type", "description"),
    [
        (b'{"person": "alice"' + b" " * 20000 + b"}", "application/json", "The body is too large."),
        (b"[" * 50 + b"]" * 50, "application/json", "The JSON is nested too deeply."),
        (b'{"person": "a", "person": "b"}', "application/json", "The body is not valid JSON."),
        (b'{"person": NaN}', "application/json", "The body is not valid JSON."),
        (b'{"person": "\\ud800"}', "application/json", "The body is not valid JSON."),
        (b"\xff\xfe", "application/json", "The body is not valid JSON."),
        (b"[]", "application/json", "The body must be a JSON object."),
        (
            b"person=alice",
            "application/x-www-form-urlencoded",
            "The body must be application/json.",
        ),
        (
            b'{"person": "alice", "app": "chat"}',
            "application/json",
            "Bad or missing member: scopes.",
        ),
        (
            b'{"person": "alice", "app": "chat", "scopes": "chat.read"}',
            "application/json",
            "Bad or missing member: scopes.",
        ),
        (
            b'{"person": "alice", "app": "chat", "scopes": ["chat.read"], "extra\\nx": 1}',
            "application/json",
            "Unknown member.",
        ),
    ],
)
def test_malformed_request_is_invalid_request(
    stack: ServiceStack, content: bytes, content_type: str, description: str
) -> None:
    refused(
        _post(stack, content, content_type),
        400,
        {"error": "invalid_request", "error_description": description},
    )


def test_kill_switch_on_the_agent_refuses_it(stack: ServiceStack) -> None:
    from xaa.adapters.broker import SqliteRevocationList
    from xaa.broker import RevocationTarget

    revocations = SqliteRevocationList(stack.tmp / "broker.sqlite3")
    revocations.add(RevocationTarget("agent", "summarizer"), time.time())
    try:
        with httpx.Client(timeout=20) as browser:
            sign_in(browser, stack.broker, "bob")
            row = browser.get(stack.broker + "/").text.split('id="agent-summarizer"')[1]
            assert "revoked by the platform" in row.split("</tr>")[0]
        refused(
            ask(stack.broker, "chat", ["chat.read"], svid=stack.svid()),
            403,
            {
                "error": "revoked",
                "error_description": "The kill switch covers this request.",
                "target": "agent:summarizer",
            },
        )
    finally:
        revocations.remove(RevocationTarget("agent", "summarizer"))


def test_refused_id_jag_is_a_typed_upstream_error_not_a_500(tmp_path: Path) -> None:
    with service_stack(tmp_path, chat_trusts_idp=False) as untrusting, httpx.Client() as browser:
        sign_in(browser, untrusting.broker)
        refused(
            ask(untrusting.broker, "chat", ["chat.read"], svid=untrusting.svid()),
            502,
            {
                "error": "upstream_error",
                "error_description": "chat or the IdP did not answer as required.",
            },
        )


def test_actor_chain_for_an_app_without_xaa_is_refused(stack: ServiceStack) -> None:
    headers = {"authorization": f"Bearer {stack.svid()}"}
    body = {
        "person": "alice",
        "app": "legacy-chat",
        "scopes": ["chat.read"],
        "actor_token": stack.svid("spiffe://acme.example/agent/triage"),
        "actor_token_type": "urn:ietf:params:oauth:token-type:jwt",
    }
    refused(
        httpx.post(stack.broker + "/v1/token", json=body, headers=headers),
        400,
        {
            "error": "actor_chain_unsupported",
            "error_description": (
                "legacy-chat does not support XAA; an actor chain cannot be carried."
            ),
        },
    )


def test_refused_actor_chain_never_wipes_the_persons_sign_in(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as browser:
        sign_in(browser, stack.broker, "alice")
    headers = {"authorization": f"Bearer {stack.svid()}"}
    body = {
        "person": "alice",
        "app": "chat",
        "scopes": ["chat.read"],
        "actor_token": stack.svid("spiffe://acme.example/agent/triage", audience=stack.idp),
        "actor_token_type": "urn:ietf:params:oauth:token-type:jwt",
    }
    for _ in range(2):  # the IdP refuses the wiki client acting for an actor: never dropped
        refused(
            httpx.post(stack.broker + "/v1/token", json=body, headers=headers, timeout=20),
            403,
            {
                "error": "actor_chain_refused",
                "error_description": "The IdP refused the exchange with this actor chain"
                " (or alice's sign-in has ended).",
                "consent_url": stack.broker + "/connect/chat",
            },
        )
    from xaa.adapters.broker import SecretVault, SqliteVaultBackend, VaultSessions

    vault = SecretVault(stack.keyring, SqliteVaultBackend(stack.tmp / "broker.sqlite3"))
    kept = VaultSessions(vault).session("alice")
    assert kept is not None and kept.refresh_token is not None  # not wiped by the refusal
    plain = ask(stack.broker, "chat", ["chat.read"], svid=stack.svid())
    assert plain.status_code == 200, plain.text  # alice's vaulted sign-in survived
    assert plain.json()["via"] == "xaa"


def test_idp_policy_denial_is_blocked_by_policy_without_fallback(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as browser:
        sign_in(browser, stack.broker, "bob")  # sales: the IdP grants chat.read only
    refused(
        ask(stack.broker, "chat", ["chat.history"], svid=stack.svid(), person="bob"),
        403,
        {
            "error": "blocked_by_policy",
            "error_description": "IdP refused by policy: The requested scope is invalid or"
            " exceeds what may be granted.",
            "policy_error": "invalid_scope",
            "where": "IdP",
        },
    )


def test_expired_client_assertion_is_refused(stack: ServiceStack) -> None:
    old = stack.assertion(now=time.time() - 3600)
    refused(
        ask(stack.broker, "chat", ["chat.read"], assertion=old),
        401,
        {"error": "credential_expired", "error_description": "The client assertion has expired."},
    )


def test_client_assertion_signed_by_another_key_is_refused(stack: ServiceStack) -> None:
    from xaa import make_client_assertion

    forged = make_client_assertion(
        "reporter", SigningKey.generate(kid="reporter-1"), audience=stack.broker, now=time.time()
    )
    refused(
        ask(stack.broker, "chat", ["chat.read"], assertion=forged),
        401,
        {"error": "invalid_agent", "error_description": "The client assertion is not valid."},
    )


def test_svid_and_assertion_together_are_refused(stack: ServiceStack) -> None:
    refused(
        ask(stack.broker, "chat", ["chat.read"], svid=stack.svid(), assertion=stack.assertion()),
        401,
        {"error": "invalid_agent", "error_description": "One credential per request."},
    )
