"""reference_resource.demo: the helpers `make demo` uses, in-process and as a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_resource import Settings
from reference_resource.demo import chat_round_trip, redeem_id_jag, running_chat
from tests.resource.loopback_idp import loopback_idp
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["thread", "subprocess"])
def test_demo_helpers(tmp_path: Path, mode: str) -> None:
    with loopback_idp() as idp:
        port = free_port()
        settings = Settings.make(
            port=port,
            db=str(tmp_path / "demo.db"),
            trust_idps=[idp.issuer],
            idp_email_domains=[(idp.issuer, "acme.example")],
        )
        trust = ["--trust-idp", idp.issuer, "--idp-email-domain", f"{idp.issuer}=acme.example"]
        args = trust if mode == "subprocess" else None
        with running_chat(settings, subprocess_args=args) as base:
            tokens = redeem_id_jag(base, idp.id_jag(base, "wiki-at-chat"))
            got = chat_round_trip(base, tokens["access_token"], text="demo says hi")
    assert got["posted"]["status"] == 201
    assert got["posted"]["body"]["attribution"] == "alice"  # docs/actors.md display
    assert got["messages_after"]["body"]["messages"][-1]["text"] == "demo says hi"
    assert {c["id"] for c in got["channels"]["body"]["channels"]} >= {"general", "random"}
