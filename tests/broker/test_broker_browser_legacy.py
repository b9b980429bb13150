"""A real browser: headless Chromium completes the legacy app's login and consent pages
and lands on the broker's callback. Fails (never skips) under CI when Chromium is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.broker.reference_stack import (
    LEGACY_PASSWORD,
    LEGACY_USER,
    callback_server,
    reference_stack,
    stack_broker,
)
from xaa.broker import AuthorizationRequired, SecretKind, Slot, Strategy

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.anyio]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (CI must run the browser test)")
        pytest.skip("Chromium is not installed")
    return path


async def test_chromium_completes_legacy_login_and_consent(tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.async_api import async_playwright

    with reference_stack(tmp_path) as stack:
        async with stack_broker(stack) as broker, callback_server(broker, stack.callback):
            with pytest.raises(AuthorizationRequired) as needed:
                await broker.access_token(
                    "alice", "legacy-chat", "chat.read chat.history", actor="summarizer"
                )
            url = needed.value.authorization_url
            assert url is not None
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page()
                    await page.goto(url)
                    assert await page.title() == "Sign in to Chat"
                    await page.fill("input[name=username]", LEGACY_USER)
                    await page.fill("input[name=password]", LEGACY_PASSWORD)
                    await page.click("button[type=submit]")
                    await page.wait_for_selector("button[value=allow]")
                    assert await page.title() == "Allow access?"
                    await page.click("button[value=allow]")
                    await page.wait_for_url(stack.callback + "*")
                    text = await page.inner_text("#granted")
                    final_url = page.url
                finally:
                    await browser.close()
            assert final_url.startswith(stack.callback + "?")
            assert "alice granted chat.history chat.read to summarizer" in text
            vaulted = broker.config.vault.get(
                Slot(SecretKind.REFRESH_TOKEN, "alice", "legacy-chat")
            )
            assert vaulted is not None
            assert vaulted.scopes == {"chat.read", "chat.history"}
            token = await broker.access_token(
                "alice", "legacy-chat", "chat.read", actor="summarizer"
            )
            assert token.strategy == Strategy.AUTHORIZATION_CODE
