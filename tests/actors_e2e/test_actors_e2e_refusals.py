"""Actor refusals end to end over loopback, each the happy path with exactly one defect.

Every refusal: the exact RFC 6749 error code, HTTP 400, ``Cache-Control:
no-store``, no token in the body, and a ``denied`` audit event.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.actors import SPIRE_ISSUER, SUMMARIZER, TRIAGE
from tests.actors_e2e.actor_stack import WIKI, Stack, running_stack, unverified
from xaa import Actor, SigningKey, spec

pytestmark = pytest.mark.e2e

ROUTER = "spiffe://acme.example/agent/router"
TRIAGE_ACT = Actor(sub=TRIAGE, iss=SPIRE_ISSUER)
ATTACKER = SigningKey.generate("ES256", kid="spire-demo-1")  # same kid, other key


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("actors")) as running:
        yield running


@pytest.fixture(scope="module")
def alice(stack: Stack) -> str:
    return stack.login()


def assert_refused(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error and "access_token" not in body


def assert_idp_denied(stack: Stack, response: httpx.Response, error: str, detail: str) -> None:
    """Refused with ``error``; the logged (never public) ``detail`` names the defect."""
    assert_refused(response, error)
    assert detail not in response.text
    last = stack.idp_store.audit_events()[-1]
    assert (last.event, last.decision, last.reason) == ("token_exchange.id_jag", "denied", error)
    assert detail in last.extra["detail"]


def _tamper(token: str, **payload: Any) -> str:
    """The same signature over an edited payload."""
    header, body, signature = token.split(".")
    claims = {**json.loads(base64.urlsafe_b64decode(body + "==")), **payload}
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def test_happy_path_baseline(stack: Stack, alice: str) -> None:
    assert stack.exchange(alice, stack.svid()).status_code == 200
    platform = stack.platform_token(SUMMARIZER, TRIAGE_ACT)
    assert stack.exchange(alice, platform, spec.TOKEN_TYPE_ACCESS_TOKEN).status_code == 200


@pytest.mark.parametrize(
    ("defect", "detail"),
    [
        ("expired", "expired"),
        ("wrong_audience", "aud mismatch"),
        ("untrusted_issuer", "issuer not trusted"),
        ("untrusted_trust_domain", "outside the issuer's trust domain"),
        ("wrong_key_same_kid", "signature invalid"),
        ("actor_not_in_policy", "no actor rule names this actor"),
        ("forged_act_in_jwt_svid", "workload JWT carries act"),
        ("tampered_claims", "signature invalid"),
        ("id_token_as_actor_token", "issuer not trusted"),
    ],
)
def test_jwt_svid_defect_is_invalid_request(
    stack: Stack, alice: str, defect: str, detail: str
) -> None:
    now = int(time.time())
    actor_token = {
        "expired": lambda: stack.svid(iat=now - 400, exp=now - 100),
        "wrong_audience": lambda: stack.svid(aud=["https://other-idp.example"]),
        "untrusted_issuer": lambda: stack.svid(iss="https://spire.evil.example", key=ATTACKER),
        "untrusted_trust_domain": lambda: stack.svid("spiffe://partner.example/agent/helper"),
        "wrong_key_same_kid": lambda: stack.svid(key=ATTACKER),
        "actor_not_in_policy": lambda: stack.svid("spiffe://acme.example/db/backup"),
        "forged_act_in_jwt_svid": lambda: stack.svid(act={"sub": ROUTER}),
        "tampered_claims": lambda: _tamper(stack.svid(), sub=SUMMARIZER),
        "id_token_as_actor_token": lambda: alice,
    }[defect]()
    assert_idp_denied(stack, stack.exchange(alice, actor_token), "invalid_request", detail)


@pytest.mark.parametrize(
    ("defect", "detail"),
    [
        ("too_deep", "actor chain of 3 exceeds the maximum of 2"),
        ("forged_chain_resigned", "signature invalid"),
        ("forged_chain_edited", "signature invalid"),
        ("other_client", "issued to another client"),
        ("as_jwt", "issuer not trusted for this actor_token_type"),
    ],
)
def test_access_token_actor_defect_is_invalid_request(
    stack: Stack, alice: str, defect: str, detail: str
) -> None:
    token_type = spec.TOKEN_TYPE_ACCESS_TOKEN
    if defect == "too_deep":  # summarizer <- router <- triage: 3 actors, max_depth 2
        actor_token = stack.platform_token(SUMMARIZER, Actor(sub=ROUTER, act=TRIAGE_ACT))
    elif defect == "forged_chain_resigned":
        forged = Actor(sub=ROUTER, iss=SPIRE_ISSUER)
        attacker = SigningKey.generate("ES256", kid="agents-demo-1")
        actor_token = stack.platform_token(SUMMARIZER, forged, key=attacker)
    elif defect == "forged_chain_edited":
        good = stack.platform_token(SUMMARIZER, TRIAGE_ACT)
        actor_token = _tamper(good, act={"sub": ROUTER, "iss": SPIRE_ISSUER})
    elif defect == "other_client":
        actor_token = stack.platform_token(SUMMARIZER, TRIAGE_ACT, client="wiki")
    else:  # an access token presented as a workload JWT: its issuer is trusted for neither
        actor_token, token_type = stack.platform_token(SUMMARIZER, TRIAGE_ACT), spec.TOKEN_TYPE_JWT
    response = stack.exchange(alice, actor_token, token_type)
    assert_idp_denied(stack, response, "invalid_request", detail)


def test_actor_not_allowed_for_this_subject(stack: Stack) -> None:
    bob = stack.login("bob")  # sales: the rule names group:engineering
    assert stack.exchange(bob).status_code == 200
    response = stack.exchange(bob, stack.svid())
    assert_idp_denied(stack, response, "invalid_request", "not allowed to act for this subject")


def test_actor_not_allowed_for_this_client(stack: Stack) -> None:
    subject = stack.login(client=WIKI)  # the rule names the agent client only
    assert stack.exchange(subject, client=WIKI).status_code == 200
    response = stack.exchange(subject, stack.svid(), client=WIKI)
    assert_idp_denied(stack, response, "invalid_request", "not allowed to act for this client")


def test_actor_token_reused_as_subject_token(stack: Stack) -> None:
    response = stack.exchange(stack.svid(), subject_token_type=spec.TOKEN_TYPE_ID_TOKEN)
    assert_idp_denied(stack, response, "invalid_request", "no key for kid")


def test_actor_token_type_not_in_profile(stack: Stack, alice: str) -> None:
    response = stack.exchange(alice, stack.svid(), spec.TOKEN_TYPE_ID_TOKEN)
    assert_idp_denied(stack, response, "invalid_request", "unsupported actor_token_type")


def test_actor_ceiling_leaving_nothing_is_invalid_scope(tmp_path: Path) -> None:
    with running_stack(tmp_path, actor_scopes=["chat.history"]) as stack:
        subject = stack.login()
        assert stack.exchange(subject).status_code == 200
        response = stack.exchange(subject, stack.svid())
        assert_idp_denied(stack, response, "invalid_scope", "none of the granted scopes")


def test_act_at_an_as_that_refuses_actors(tmp_path: Path) -> None:
    with running_stack(tmp_path, actor_default="refuse") as stack:
        subject = stack.login()
        assert stack.redeem(stack.id_jag(subject)).status_code == 200
        jag = stack.id_jag(subject, stack.svid())
        assert unverified(jag)["act"]["sub"] == TRIAGE
        assert_refused(stack.redeem(jag), "invalid_grant")
        last = stack.chat_store.audit_events()[-1]
        assert (last.event, last.decision) == ("jwt_bearer", "denied")
        assert last.reason.startswith("invalid_grant") and last.actors == [TRIAGE]


def test_no_act_at_an_as_that_requires_actors(tmp_path: Path) -> None:
    with running_stack(tmp_path, actor_default="require") as stack:
        subject = stack.login()
        assert stack.redeem(stack.id_jag(subject, stack.svid())).status_code == 200
        assert_refused(stack.redeem(stack.id_jag(subject)), "invalid_grant")
        last = stack.chat_store.audit_events()[-1]
        assert (last.event, last.decision, last.actors) == ("jwt_bearer", "denied", [])
