"""Hostile input at the console: every bad value is a 400 page (never a 500), nothing changes,
every page carries the security headers, stored values are escaped (docs/console.md)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from reference_idp.app import create_app
from reference_idp.config import IdpConfig, demo_config_text
from reference_idp.store import Store
from xaa import AuditEvent

ISSUER = "http://127.0.0.1:9400"
CHAT = "http://127.0.0.1:9500"
OWNER = "<script>alert(1)</script> & co"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "idp.db")
    yield opened
    opened.close()


@pytest.fixture
def http(store: Store) -> Iterator[TestClient]:
    data = tomllib.loads(demo_config_text())
    data["clients"][0]["owner"] = OWNER
    app = create_app(IdpConfig.model_validate(data), store)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _sign_in(http: TestClient, user: str = "admin", password: str = "admin") -> str:
    """Sign in; the session's CSRF token."""
    csrf = _csrf(http.get("/admin/login").text)
    response = http.post(
        "/admin/login", data={"username": user, "password": password, "csrf_token": csrf}
    )
    assert response.status_code == 303, response.text
    return _csrf(http.get("/admin/connections").text)


def _secure_page(response: object, status: int) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


BAD_FILTERS = [
    "since=yesterday",
    "until=2026-13-01",
    "page=0",
    "page=abc",
    "page=99999",
    "decision=maybe",
    "subject=" + "a" * 201,
    "subject=a%00b",
    "client=a%20b",
    "actor=x%0Ay",
    "foo=1",
    "subject=a&subject=b",
    "event=%3Cscript%3E",
]


@pytest.mark.parametrize("query", BAD_FILTERS)
def test_a_bad_activity_filter_is_a_400_page_never_a_500(http: TestClient, query: str) -> None:
    _sign_in(http)
    for path in ("/admin/activity", "/admin/activity.csv", "/admin/activity.jsonl"):
        response = http.get(f"{path}?{query}")
        _secure_page(response, 400)
        assert "<script>" not in response.text


@pytest.mark.parametrize("path", ["/admin/activity/99999999999999999999999", "/admin/activity/7"])
def test_an_unknown_activity_row_is_a_400_page(http: TestClient, path: str) -> None:
    _sign_in(http)
    _secure_page(http.get(path), 400)


def _connection(**changes: str) -> dict[str, str]:
    return {
        "client": "agent",
        "audience": CHAT,
        "client_id": "agent-at-chat",
        "scope_rules": "chat.read",
        "resources": CHAT + "/api",
        "on_excess": "narrow",
        **changes,
    }


HOSTILE_CONNECTIONS = {
    "client_id too long": _connection(client_id="x" * 201),
    "client_id with a space": _connection(client_id="a b"),
    "control character": _connection(scope_rules="chat.read\x07"),
    "too many scope lines": _connection(scope_rules="\n".join(f"g{i}: s" for i in range(17))),
    "unknown on_excess": _connection(on_excess="maybe"),
    "unknown audience": _connection(audience="https://nowhere.example"),
    "resource not governed": _connection(resources="https://other.example/api"),
    "unknown client": _connection(client="ghost"),
    "missing client_id": _connection(client_id=""),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CONNECTIONS))
def test_a_hostile_connection_form_is_refused_and_changes_nothing(
    http: TestClient, store: Store, name: str
) -> None:
    csrf = _sign_in(http)
    before = store.policy_document()
    response = http.post(
        "/admin/connections/save", data={**HOSTILE_CONNECTIONS[name], "csrf_token": csrf}
    )
    _secure_page(response, 400)
    assert store.policy_document() == before


def test_a_repeated_oversized_or_mistyped_form_is_refused(http: TestClient, store: Store) -> None:
    csrf = _sign_in(http)
    before = store.policy_document()
    repeated = f"csrf_token={csrf}&client=agent&client=wiki"
    bodies = {
        "repeated": (repeated, "application/x-www-form-urlencoded"),
        "not a form": ('{"client": "agent"}', "application/json"),
    }
    for body, content_type in bodies.values():
        response = http.post(
            "/admin/connections/save", content=body, headers={"content-type": content_type}
        )
        _secure_page(response, 400)
    oversized = http.post(  # refused by the HTTP edge before the console reads it
        "/admin/connections/save",
        content=f"csrf_token={csrf}&x=" + "a" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert oversized.status_code == 413 and oversized.json()["error"] == "invalid_request"
    assert oversized.headers["cache-control"] == "no-store"
    assert store.policy_document() == before


@pytest.mark.parametrize("max_age", ["-1", "1e9", "abc", "1234567890"])
def test_a_bad_max_age_is_refused(http: TestClient, store: Store, max_age: str) -> None:
    csrf = _sign_in(http)
    before = store.policy_document()
    data = {"issuer": CHAT, "max_age": max_age, "csrf_token": csrf}
    _secure_page(http.post("/admin/servers/save", data=data), 400)
    assert store.policy_document() == before


def test_stored_values_are_escaped_on_every_page(http: TestClient) -> None:
    _sign_in(http)
    page = http.get("/admin/clients")
    _secure_page(page, 200)
    assert OWNER not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page.text


def test_the_csv_export_neutralises_spreadsheet_formulas(http: TestClient, store: Store) -> None:
    _sign_in(http)
    store.emit(AuditEvent(event="token", decision="denied", subject="=HYPERLINK(1)"))
    body = http.get("/admin/activity.csv?event=token").text
    assert "'=HYPERLINK(1)" in body and ",=HYPERLINK" not in body


def test_a_forged_or_non_admin_session_reaches_nothing(http: TestClient, store: Store) -> None:
    http.cookies.set("xaa_idp_admin", "forged", path="/admin")
    response = http.get("/admin/activity")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    _secure_page(http.post("/admin/keys/stage", data={"csrf_token": "x"}), 403)
    # An ordinary sign-in session (the IdP's SSO cookie) is no admin session.
    from reference_idp.store import Session

    sso = store.new_session(Session("admin", 0, "urn:xaa:acr:password", ("pwd",)), 1e12 - 1)
    http.cookies.set("xaa_idp_admin", sso, path="/admin")
    assert http.get("/admin/activity").status_code == 303


def test_a_non_admin_sign_in_is_refused_and_audited(http: TestClient, store: Store) -> None:
    csrf = _csrf(http.get("/admin/login").text)
    response = http.post(
        "/admin/login", data={"username": "bob", "password": "bob", "csrf_token": csrf}
    )
    _secure_page(response, 403)
    assert "xaa_idp_admin=" not in response.headers.get("set-cookie", "")
    assert store.audit_events()[-1].reason == "not_admin"


def test_admin_sign_in_is_throttled(http: TestClient) -> None:
    statuses = []
    for _ in range(7):
        csrf = _csrf(http.get("/admin/login").text)
        data = {"username": "admin", "password": "wrong", "csrf_token": csrf}
        statuses.append(http.post("/admin/login", data=data).status_code)
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
    csrf = _csrf(http.get("/admin/login").text)
    locked = http.post(
        "/admin/login", data={"username": "admin", "password": "admin", "csrf_token": csrf}
    )
    _secure_page(locked, 429)  # even the right password waits
    assert int(locked.headers["retry-after"]) >= 1


def test_a_login_without_its_csrf_cookie_or_from_another_origin_is_refused(
    http: TestClient,
) -> None:
    csrf = _csrf(http.get("/admin/login").text)
    data = {"username": "admin", "password": "admin", "csrf_token": csrf}
    foreign = http.post("/admin/login", data=data, headers={"origin": "https://evil.example"})
    _secure_page(foreign, 403)
    http.cookies.clear()
    _secure_page(http.post("/admin/login", data=data), 403)


def test_cross_site_fetch_metadata_is_refused(http: TestClient, store: Store) -> None:
    csrf = _sign_in(http)
    data = {"client": "agent", "action": "suspend", "confirm": "yes", "csrf_token": csrf}
    response = http.post(
        "/admin/clients/status", data=data, headers={"sec-fetch-site": "cross-site"}
    )
    _secure_page(response, 403)
    record = store.client_record("agent")
    assert record is not None and record.status == "active"
    assert http.post("/admin/clients/status", data=data).status_code == 303  # same request, ok


def test_an_edited_connection_keeps_its_place(http: TestClient, store: Store) -> None:
    csrf = _sign_in(http)
    order = [(g.client, g.audience) for g in store.policy().grants]
    assert order[0][0] == "wiki"
    data = {**_connection(client="wiki", client_id="wiki-at-chat"), "csrf_token": csrf}
    assert http.post("/admin/connections/save", data=data).status_code == 303
    assert [(g.client, g.audience) for g in store.policy().grants] == order
    assert store.policy().grants[0].scopes[0].scopes == ["chat.read"]
    # Deleting asks for the confirmation first.
    gone = {"client": "wiki", "audience": CHAT, "csrf_token": csrf}
    _secure_page(http.post("/admin/connections/delete", data=gone), 400)
    response = http.post("/admin/connections/delete", data={**gone, "confirm": "yes"})
    assert response.status_code == 303
    assert [g.client for g in store.policy().grants] == ["agent"]


def test_sign_out_everywhere_revokes_the_users_refresh_tokens(
    http: TestClient, store: Store
) -> None:
    token = store.issue_refresh_token(
        client_id="wiki",
        sub="alice",
        scope="openid",
        auth_time=None,
        acr=None,
        amr=(),
        lifetime=600,
        now=1e9 * 2,
        family="f",
    )
    csrf = _sign_in(http)
    data = {"user": "alice", "csrf_token": csrf}
    _secure_page(http.post("/admin/users/sign-out", data=data), 400)  # not confirmed
    assert http.post("/admin/users/sign-out", data={**data, "confirm": "yes"}).status_code == 303
    grant = store.find_refresh_token(token)
    assert grant is not None and grant.revoked


def test_rotation_after_the_staging_period_is_audited_with_before_and_after(
    tmp_path: Path,
) -> None:
    data = tomllib.loads(demo_config_text())
    data["key_min_staging"] = 0
    store = Store(tmp_path / "idp.db")
    try:
        app = create_app(IdpConfig.model_validate(data), store)
        with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
            csrf = _sign_in(client)
            before = dict(store.key_states())
            assert client.post("/admin/keys/rotate", data={"csrf_token": csrf}).status_code == 303
            after = dict(store.key_states())
            assert [k for k, s in after.items() if s == "current"] == [
                k for k, s in before.items() if s == "next"
            ]
            row = client.get("/admin/activity?event=admin.keys").text
            assert "admin.keys.rotate" in row
    finally:
        store.close()


def test_activity_list_shows_a_narrowed_scope_and_a_denials_detail(
    store: Store, http: TestClient
) -> None:
    """A narrowed issuance looked like a full grant in the list, and a denied request's
    scope sat in the Scope column as if it were granted."""
    common = {"event": "token_exchange.id_jag", "client_id": "wiki", "audience": CHAT}
    store.emit(
        AuditEvent(
            **common, decision="issued", subject="narrowed", jti="j1",
            requested_scope="chat.read chat.write", granted_scope="chat.read",
        )
    )  # fmt: skip
    store.emit(
        AuditEvent(
            **common, decision="denied", subject="refused", reason="invalid_scope",
            requested_scope="chat.admin", extra={"detail": "scope beyond policy"},
        )
    )  # fmt: skip
    _sign_in(http)
    page = http.get("/admin/activity", params={"event": "token_exchange"})
    _secure_page(page, 200)
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<td>(narrowed|refused)</td>.*?</tr>", page.text, re.S)
    }
    asked = '<span class="asked">(asked: {})</span>'
    assert f"<td>chat.read {asked.format('chat.read chat.write')}</td>" in rows["narrowed"]
    assert f"<td> {asked.format('chat.admin')}</td>" in rows["refused"]
    assert 'invalid_scope <span class="detail">(scope beyond policy)</span>' in rows["refused"]


def test_client_filter_finds_the_refusals_of_a_suspended_client(
    store: Store, http: TestClient
) -> None:
    """An invalid_client refusal has no authenticated client_id: filtering the activity by
    the suspended client missed every refused attempt."""
    for claimed in ("wiki", "agent"):
        store.emit(
            AuditEvent(
                event="token_exchange.id_jag", decision="denied", reason="invalid_client",
                subject=f"refused-{claimed}",
                extra={"detail": "client suspended", "attempted_client_id": claimed},
            )
        )  # fmt: skip
    _sign_in(http)
    page = http.get("/admin/activity", params={"client": "wiki", "reason": "invalid_client"})
    _secure_page(page, 200)
    assert "<td>refused-wiki</td>" in page.text and "refused-agent" not in page.text
    assert '<td>wiki <span class="detail">(unauthenticated)</span></td>' in page.text
    assert 'invalid_client <span class="detail">(client suspended)</span>' in page.text
    export = http.get("/admin/activity.jsonl", params={"client": "wiki"}).text.splitlines()
    assert [json.loads(line)["subject"] for line in export] == ["refused-wiki"]


def test_resuming_a_client_removed_from_the_file_is_refused_and_not_audited(
    store: Store, http: TestClient
) -> None:
    """The console audited `client.resume` (status active) for a client the store refused
    to change: the audit said a removed client was back."""
    data = tomllib.loads(demo_config_text())
    data["clients"] = [c for c in data["clients"] if c["client_id"] != "agent"]
    data["policy"]["grants"] = [g for g in data["policy"]["grants"] if g["client"] != "agent"]
    store.seed(IdpConfig.model_validate(data))  # a restart without the agent in the file
    csrf = _sign_in(http)
    rows = len(store.audit_events())
    form = {"client": "agent", "action": "resume", "confirm": "yes", "csrf_token": csrf}
    response = http.post("/admin/clients/status", data=form)
    _secure_page(response, 400)
    assert "removed from the configuration file" in response.text
    assert [e.event for e in store.audit_events()[rows:]] == []
    record = store.client_record("agent")
    assert record is not None and record.status == "removed"
