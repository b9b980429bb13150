"""The ``make demo`` step of the broker service, on free ports."""

from __future__ import annotations

import pytest

from demo.broker_service import run_broker_service_demo
from tests.support.servers import free_port

pytestmark = [pytest.mark.e2e]


def test_demo_walks_an_agent_through_the_service(capsys: pytest.CaptureFixture[str]) -> None:
    answers = run_broker_service_demo(free_port(), free_port(), free_port(), free_port())
    assert [a.get("via") or a["error"] for a in answers] == [
        "xaa",
        "consent_required",
        "fallback",
        "revoked",
    ]
    assert all("access_token" not in a for a in answers)
    out = capsys.readouterr().out
    assert "GET chat /api/channels with it: HTTP 200" in out
    assert "legacy-chat is connected" in out
