"""Two broker instances over one SQLite file (or one Redis): a consent started on one completes
on the other, and everything the second needs (session, pending request, grant, withdrawals) is
in the shared store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.broker_service.service_stack import (
    ask,
    consent_at_legacy,
    csrf,
    service_stack,
    sign_in,
)
from tests.support.redis import start_redis, stop_redis

pytestmark = [pytest.mark.e2e]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url, proc = start_redis(cwd=str(tmp_path))
    try:
        yield url
    finally:
        stop_redis(proc)


def test_consent_started_on_one_worker_completes_on_the_other(
    tmp_path: Path, store: str | None
) -> None:
    with (
        service_stack(tmp_path, instances=2, redis_url=store) as stack,
        httpx.Client(timeout=20) as browser,
    ):
        first, second = stack.brokers
        sign_in(browser, first)
        svid = stack.svid()
        needed = ask(first, "legacy-chat", ["chat.read"], svid=svid)
        assert needed.status_code == 403
        assert needed.headers["cache-control"] == "no-store"
        assert needed.json()["error"] == "consent_required"
        assert needed.json()["consent_url"] == first + "/connect/legacy-chat"
        page = browser.get(needed.json()["consent_url"])
        assert page.status_code == 200
        started = browser.post(
            first + "/connect/legacy-chat", data={"csrf_token": csrf(page)}, follow_redirects=False
        )
        assert started.status_code == 303
        assert started.headers["location"].startswith(stack.legacy + "/authorize?")
        landed = consent_at_legacy(browser, started.headers["location"])
        assert str(landed.url).startswith(second + "/callback?")
        assert landed.status_code == 200, landed.text[:300]
        assert "legacy-chat is connected" in landed.text
        for worker in (second, first):
            minted = ask(worker, "legacy-chat", ["chat.read"], svid=stack.svid(audience=worker))
            assert minted.status_code == 200, minted.text
            assert minted.json()["via"] == "fallback"
            assert minted.json()["agent"] == "summarizer"
            assert minted.json()["person"] == "alice"
        # alice revokes the agent on the first worker: the second refuses it (shared store).
        home = browser.get(first + "/")
        browser.post(
            first + "/revoke",
            data={"csrf_token": csrf(home), "kind": "agent", "name": "summarizer"},
        )
        refused = ask(second, "legacy-chat", ["chat.read"], svid=stack.svid(audience=second))
        assert refused.status_code == 403
        assert refused.json()["error"] == "revoked"
        # and revokes the legacy app on the second: the grant is gone, revoked at the app.
        home = browser.get(second + "/")
        browser.post(
            second + "/revoke",
            data={"csrf_token": csrf(home), "kind": "app", "name": "legacy-chat"},
        )
        legacy_row = browser.get(first + "/").text.split('id="app-legacy-chat"')[1]
        assert "withdrawn" in legacy_row.split("</tr>")[0]
