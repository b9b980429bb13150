"""Shared pieces of the console tests: the running stack, Chromium, admin sign-in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

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
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ADMIN = ("admin", "admin")  # the demo configuration's console administrator


def chromium() -> str:
    """Chromium's path; fails (never skips) under CI when it is missing."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (CI must run the browser test)")
        pytest.skip("Chromium is not installed")
    return path


def sign_in(page: Any, idp: str, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    """Sign in to the console through its login form."""
    page.goto(idp + "/admin/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shot(page: Any, name: str) -> None:
    """A full-page screenshot for docs/console.md."""
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / f"console-{name}.png"), full_page=True)
