"""End to end in real Chromium: alice signs in to the broker through the IdP, an agent with a
JWT-SVID gets chat tokens via XAA, needs her consent for the legacy app, gets a token once she
connected it in the browser; her activity page lists both; she revokes the agent and its next
call is refused. Screenshots go to docs/img/broker-*.png (docs/broker.md)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.broker.reference_stack import LEGACY_PASSWORD, LEGACY_USER
from tests.broker.test_broker_browser_legacy import CHROMIUM_ARGS, _chromium
from tests.broker_service.service_stack import ask, service_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.anyio]

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


async def test_agent_through_the_broker_service_in_chromium(tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.async_api import async_playwright

    with service_stack(tmp_path) as stack:
        broker = stack.broker
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 960, "height": 640})
                await page.goto(broker + "/")
                await page.click("#sign-in")
                await page.fill("input[name=username]", "alice")
                await page.fill("input[name=password]", "alice")
                await page.click("button[type=submit]")
                await page.wait_for_selector("#person")
                assert await page.inner_text("#person") == "alice"
                assert "connected" in await page.inner_text("#app-chat")
                assert "not connected" in await page.inner_text("#app-legacy-chat")

                # XAA: alice's IdP sign-in is the subject token; no consent screen.
                svid = stack.svid()
                xaa = ask(broker, "chat", ["chat.read", "chat.history"], svid=svid)
                assert xaa.status_code == 200, xaa.text
                assert xaa.headers["cache-control"] == "no-store"
                assert xaa.json()["via"] == "xaa"
                assert (xaa.json()["person"], xaa.json()["agent"]) == ("alice", "summarizer")
                headers = {"authorization": f"Bearer {xaa.json()['access_token']}"}
                channels = httpx.get(stack.chat + "/api/channels", headers=headers)
                assert channels.status_code == 200

                # The legacy app: consent first, never a silent fallback.
                needed = ask(broker, "legacy-chat", ["chat.read"], svid=svid)
                assert needed.status_code == 403
                assert needed.json()["error"] == "consent_required"
                await page.goto(needed.json()["consent_url"])
                await page.wait_for_selector("#connect")
                await page.screenshot(path=str(IMG / "broker-connect.png"))
                await page.click("#connect")
                assert await page.title() == "Sign in to Chat"
                await page.fill("input[name=username]", LEGACY_USER)
                await page.fill("input[name=password]", LEGACY_PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_selector("button[value=allow]")
                await page.click("button[value=allow]")
                await page.wait_for_selector("#message")
                assert page.url.startswith(broker + "/callback?")
                assert "legacy-chat is connected" in await page.inner_text("#message")

                fallback = ask(broker, "legacy-chat", ["chat.read"], svid=svid)
                assert fallback.status_code == 200, fallback.text
                assert fallback.json()["via"] == "fallback"
                assert fallback.json()["strategy"] == "authorization_code"

                await page.goto(broker + "/")
                assert "connected" in await page.inner_text("#app-legacy-chat")
                await page.screenshot(path=str(IMG / "broker-apps.png"))

                await page.goto(broker + "/activity")
                rows = await page.locator("tr.activity").all_inner_texts()
                assert any("summarizer" in r and "chat" in r and "XAA" in r for r in rows)
                assert any(
                    "summarizer" in r and "legacy-chat" in r and "fallback" in r for r in rows
                )
                await page.screenshot(path=str(IMG / "broker-activity.png"))

                # alice revokes the agent: its next call is refused, cached token or not.
                await page.goto(broker + "/")
                await page.click("#agent-summarizer button[type=submit]")
                await page.wait_for_selector("#agent-summarizer")
                assert "revoked by you" in await page.inner_text("#agent-summarizer")
            finally:
                await browser.close()
        for app in ("chat", "legacy-chat"):
            refused = ask(broker, app, ["chat.read"], svid=stack.svid())
            assert refused.status_code == 403
            assert refused.headers["cache-control"] == "no-store"
            assert refused.json() == {
                "error": "revoked",
                "error_description": "alice revoked the agent summarizer.",
                "target": "agent:summarizer",
            }
