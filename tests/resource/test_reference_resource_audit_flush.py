"""The chat app writes the last window of aggregated denials when it stops
(docs/resource.md): an :class:`~xaa.AggregatingAuditSink` counts repeated
unauthenticated denials and writes their summary row at the window's end, so the
app's shutdown must flush the window still open."""

from __future__ import annotations

from pathlib import Path

import httpx

from reference_resource import Settings, create_app
from tests.support.servers import free_port, serve
from xaa import spec

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_aggregated_denials_are_not_lost_when_the_chat_app_stops(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings.make(
        port=port, db=str(tmp_path / "chat.db"), trust_idps=["https://idp.example"]
    )
    app = create_app(settings)
    store = app.state.store
    body = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": "x.y.z"}
    with serve(app, port=port) as base, httpx.Client(base_url=base) as http:
        for _ in range(4):  # no client authentication: the same unauthenticated denial
            assert http.post("/token", data=body, headers=FORM).status_code == 401
        assert [e.extra.get("repeated") for e in store.audit_events()] == [None]
    rows = [e for e in store.audit_events() if e.decision == "denied"]
    assert len(rows) == 2
    assert rows[1].extra["repeated"] == 3
    assert rows[1].reason == rows[0].reason
