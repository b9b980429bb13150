"""The reference IdP writes the last window of aggregated denials when it stops
(docs/idp.md): an :class:`~xaa.AggregatingAuditSink` counts repeated
unauthenticated denials and writes their summary row at the window's end, so the
app's shutdown must flush the window still open."""

from __future__ import annotations

from pathlib import Path

import httpx

from reference_idp.app import create_app
from reference_idp.config import load_config
from reference_idp.store import Store
from tests.support.servers import free_port, serve
from xaa import spec

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_aggregated_denials_are_not_lost_when_the_idp_stops(tmp_path: Path) -> None:
    port = free_port()
    store = Store(str(tmp_path / "idp.db"))
    app = create_app(load_config().with_issuer(f"http://127.0.0.1:{port}"), store)
    body = {"grant_type": spec.GRANT_TOKEN_EXCHANGE, "client_id": "nobody"}
    with serve(app, port=port) as base, httpx.Client(base_url=base) as http:
        for _ in range(4):  # no client authentication: the same unauthenticated denial
            assert http.post("/token", data=body, headers=FORM).status_code == 401
        assert [e.extra.get("repeated") for e in store.audit_events()] == [None]
    rows = [e for e in store.audit_events() if e.decision == "denied"]
    assert len(rows) == 2
    assert rows[1].extra["repeated"] == 3
    assert rows[1].reason == rows[0].reason
    store.close()
