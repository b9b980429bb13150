"""The chat app's activity page: its own sign-in, a signed session, one account's rows only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from reference_resource.activity import attribution
from reference_resource.app import create_app
from reference_resource.settings import Settings
from xaa import AuditEvent


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.make(port=9599, db=str(tmp_path / "chat.db"), replay="memory")
    app = create_app(settings)
    store = app.state.store
    for account, jti in (("u-alice", "jag-alice"), ("u-bob", "jag-bob")):
        store.emit(
            AuditEvent(
                event="jwt_bearer",
                decision="issued",
                client_id="agent-at-chat",
                actors=["spiffe://acme.example/agent/summarizer", "spiffe://acme.example/t"],
                granted_scope="chat.read",
                jti=jti,
                extra={"account": account, "access_token_jti": f"at-{jti}"},
            )
        )
        store.emit(
            AuditEvent(
                event="resource.request",
                decision="issued",
                subject=account,
                client_id="agent-at-chat",
                jti=f"at-{jti}",
                extra={"method": "GET", "path": "/api/channels"},
            )
        )
    with TestClient(app, base_url=settings.issuer, follow_redirects=False) as client:
        yield client


def _sign_in(http: TestClient, user: str, password: str) -> int:
    page = http.get("/activity").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    data = {"username": user, "password": password, "csrf_token": csrf.group(1)}
    return http.post("/activity/login", data=data).status_code


def test_an_account_sees_its_own_flows_attributed_and_no_one_elses(http: TestClient) -> None:
    page = http.get("/activity")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert _sign_in(http, "alice", "alice-chat") == 303
    page = http.get("/activity")
    assert page.headers["cache-control"] == "no-store"
    assert page.text.count("jag-alice") == 2  # the redemption and the API call it paid for
    assert "jag-bob" not in page.text
    assert "alice via agent-at-chat via spiffe://acme.example/t via " in page.text


def test_a_wrong_password_forged_cookie_or_missing_csrf_is_refused(http: TestClient) -> None:
    assert _sign_in(http, "alice", "wrong") == 401
    http.cookies.set("xaa_chat_activity", "u-bob|9999999999|" + "0" * 64, path="/activity")
    assert "jag-bob" not in http.get("/activity").text
    http.cookies.clear()
    data = {"username": "alice", "password": "alice-chat", "csrf_token": "x"}
    refused = http.post("/activity/login", data=data)
    assert refused.status_code == 403 and refused.headers["cache-control"] == "no-store"


def test_attribution_names_the_person_then_the_client_then_the_actors_earliest_first() -> None:
    assert attribution("alice", "wiki", []) == "alice via wiki"
    assert attribution("alice", "agent", ["sub-agent", "agent-x"]) == (
        "alice via agent via agent-x via sub-agent"
    )
