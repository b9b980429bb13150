"""Real Chromium against the reference IdP's console and the chat app's activity page.

Writes the screenshots of docs/console.md (docs/img/console-*.png).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.actors_e2e.actor_stack import Stack, running_stack, unverified
from tests.console.console_support import CHROMIUM_ARGS, chromium, shot, sign_in
from tests.support.servers import serve
from xaa import spec

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
TRIAGE = "spiffe://acme.example/agent/triage"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def _href(page: Any, text: str) -> str:
    href: str = page.get_attribute(f"a:has-text('{text}')", "href")
    return href


def _error(response: Any) -> str:
    assert response.headers["cache-control"] == "no-store"
    error: str = response.json()["error"]
    return error


def test_suspending_the_agent_refuses_its_next_exchange_and_resuming_restores_it(
    stack: Stack, page: Any
) -> None:
    id_token = stack.login()  # before the kill switch: a suspended client cannot sign in
    assert stack.exchange(id_token).status_code == 200
    sign_in(page, stack.idp)
    page.click("text=Clients and agents")
    shot(page, "clients")
    page.click("a:has-text('Suspend agent')")
    assert "is refused with invalid_client" in page.inner_text("main")
    shot(page, "suspend-confirm")
    page.click("button:has-text('Yes, suspend agent')")
    assert "suspended" in page.inner_text("table")
    refused = stack.exchange(id_token)
    assert refused.status_code == 401 and _error(refused) == "invalid_client"
    page.click("a:has-text('Resume agent')")
    page.click("button:has-text('Yes, resume agent')")
    assert stack.exchange(id_token).status_code == 200
    # Both changes are audited with their before and after.
    page.goto(stack.idp + "/admin/activity?event=admin.client")
    rows = page.locator("#activity tbody tr")
    assert rows.count() == 2
    rows.first.locator("a").click()
    assert '"status": "suspended"' in page.inner_text("main")


def test_narrowing_a_connection_narrows_the_next_id_jag(stack: Stack, page: Any) -> None:
    id_token = stack.login()
    before = stack.exchange(id_token, scope="chat.read chat.write")
    assert unverified(before.json()["access_token"])["scope"] == "chat.read chat.write"
    sign_in(page, stack.idp)
    page.click("text=Connections")
    shot(page, "connections")
    page.click(f"a:has-text('Edit agent to {stack.chat}')")
    page.fill("#scope-rules", "chat.read")
    shot(page, "connection-edit")
    page.click("button:has-text('Save')")
    assert "Connection saved" in page.inner_text("main")
    after = stack.exchange(id_token, scope="chat.read chat.write")
    assert after.status_code == 200
    assert unverified(after.json()["access_token"])["scope"] == "chat.read"
    assert after.json()["scope"] == "chat.read"  # draft-03 §4.3.4: narrowed scope returned
    # Restore the demo connection for the other tests.
    page.click(f"a:has-text('Edit agent to {stack.chat}')")
    page.fill("#scope-rules", "chat.read\nengineering: chat.read chat.write")
    page.click("button:has-text('Save')")
    assert "Connection saved" in page.inner_text("main")


def test_activity_finds_an_agents_actions_by_actor_and_exports_what_it_shows(
    stack: Stack, page: Any
) -> None:
    id_token = stack.login()
    jag = stack.id_jag(id_token, stack.svid(), spec.TOKEN_TYPE_JWT)
    jti = unverified(jag)["jti"]
    stack.post(stack.access_token(jag), "summary for alice")
    assert stack.exchange(id_token, scope="chat.read").status_code == 200  # no actor
    sign_in(page, stack.idp)
    page.goto(stack.idp + "/admin/activity")
    page.fill("#f-actor", "agent/triage")
    page.select_option("#f-decision", "issued")
    page.click("button:has-text('Filter')")
    shot(page, "activity")
    rows = page.locator("#activity tbody tr")
    shown = [int(rows.nth(i).get_attribute("data-id")) for i in range(rows.count())]
    assert len(shown) == 1 and TRIAGE in rows.first.inner_text()
    # The export links carry the same filters and hold the same rows.
    jsonl = page.request.get(stack.idp + _href(page, "JSON Lines"))
    lines = [json.loads(line) for line in jsonl.text().splitlines()]
    assert [line["id"] for line in lines] == shown and lines[0]["jti"] == jti
    assert lines[0]["actors"] == [TRIAGE]
    table = page.request.get(stack.idp + _href(page, "CSV"))
    assert "attachment" in table.headers["content-disposition"]
    exported = list(csv.DictReader(io.StringIO(table.text())))
    # A cell starting with = + - @ is quoted against formula injection; a random jti may.
    csv_jti = "'" + jti if jti[:1] in ("=", "+", "-", "@") else jti
    assert [int(r["id"]) for r in exported] == shown and exported[0]["jti"] == csv_jti
    # The row's details: requested vs granted, the chain and the decoded claims (no token).
    rows.first.locator("a").click()
    text = page.inner_text("main")
    assert "ID-JAG claims" in text and f'"jti": "{jti}"' in text and TRIAGE in text
    assert jag not in page.content()
    shot(page, "activity-detail")
    # The same flow in the chat app's activity page, under the same jti.
    page.goto(stack.chat + "/activity")
    page.fill("#username", "alice")
    page.fill("#password", "alice-chat")
    page.click("button[type=submit]")
    chat_rows = page.locator("#activity tbody tr")
    texts = [chat_rows.nth(i).inner_text() for i in range(chat_rows.count())]
    flow = [t for t in texts if jti in t]
    assert any("ID-JAG redeemed" in t for t in flow)
    assert any("POST /api/channels/general/messages" in t for t in flow)
    assert all(f"alice via agent-at-chat via {TRIAGE}" in t for t in flow)
    shot(page, "chat-activity")


def test_the_keys_page_shows_the_staging_state_and_the_rotation_refusal(
    stack: Stack, page: Any
) -> None:
    sign_in(page, stack.idp)
    page.goto(stack.idp + "/admin/keys")
    page.click("button:has-text('Stage a new next key')")
    assert "Key staged" in page.inner_text("main")
    page.click("button:has-text('Rotate')")
    message = page.inner_text("[role=alert]")
    assert re.search(r"Rotation refused: staged key \S+ has been published for \d+ s", message)
    shot(page, "keys")
    page.goto(stack.idp + "/admin/users")
    shot(page, "users")


ADMIN_PAGES = (
    "/admin/connections",
    "/admin/clients",
    "/admin/users",
    "/admin/activity",
    "/admin/keys",
    "/admin/activity.csv",
    "/admin/activity.jsonl",
    "/admin/activity/1",
    "/admin/clients/confirm?client=agent&action=suspend",
)
ADMIN_ACTIONS = (
    "/admin/clients/status",
    "/admin/connections/save",
    "/admin/connections/delete",
    "/admin/servers/save",
    "/admin/users/sign-out",
    "/admin/keys/stage",
    "/admin/keys/rotate",
)


def test_a_non_admin_reaches_no_admin_page_or_action(stack: Stack, page: Any) -> None:
    sign_in(page, stack.idp, "bob", "bob")  # bob is a user, not an administrator
    assert "bob is not an administrator." in page.inner_text("[role=alert]")
    shot(page, "login-refused")
    for path in ADMIN_PAGES:
        page.goto(stack.idp + path)
        assert page.url == stack.idp + "/admin/login", path
    for path in ADMIN_ACTIONS:
        response = page.request.post(stack.idp + path, form={"client": "agent"})
        assert response.status == 403, path
    assert stack.idp_store.client_record("agent").status == "active"


def test_cross_site_posts_are_refused(stack: Stack, page: Any) -> None:
    sign_in(page, stack.idp)
    page.goto(stack.idp + "/admin/clients/confirm?client=agent&action=suspend")
    token = page.get_attribute("input[name=csrf_token]", "value")
    target = stack.idp + "/admin/clients/status"
    form = {"client": "agent", "action": "suspend", "confirm": "yes"}
    # No CSRF token, a wrong one, and the right one from a foreign Origin.
    assert page.request.post(target, form=form).status == 403
    assert page.request.post(target, form={**form, "csrf_token": "x" * 64}).status == 403
    foreign = page.request.post(
        target, form={**form, "csrf_token": token}, headers={"origin": "http://evil.example"}
    )
    assert foreign.status == 403
    # A real cross-site page auto-submitting the form: its request carries no session.
    attacker = _attacker_page(target)
    with serve(attacker) as base:
        evil = base.replace("127.0.0.1", "localhost")  # another site than the IdP's
        page.goto(evil + "/")
        page.wait_for_load_state("load")
        page.wait_for_selector("text=Refused")
    assert stack.idp_store.client_record("agent").status == "active"


def _attacker_page(target: str) -> Starlette:
    html = (
        f'<form id="f" method="post" action="{target}">'
        '<input name="client" value="agent"><input name="action" value="suspend">'
        '<input name="confirm" value="yes"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    return Starlette(routes=[Route("/", home)])


def test_screenshots_exist() -> None:
    names = ("clients", "connections", "activity", "activity-detail", "keys", "chat-activity")
    missing = [
        n
        for n in names
        if not (Path(__file__).resolve().parents[2] / "docs" / "img" / f"console-{n}.png").exists()
    ]
    assert not missing
