"""For ``make demo``: both broker paths side by side, and who acted how on each call.

:func:`run_broker_demo` starts the reference IdP, the chat app (XAA) and the
legacy chat app (``--legacy``: plain OAuth only) on loopback, then has the agent
``summarizer`` act for ``alice`` through one :class:`~xaa.adapters.broker.Broker`:
chat through XAA, the legacy chat through the authorization code fallback (the
demo plays alice on the login and consent pages), a policy denial that is NOT
turned into a fallback, and the kill switch. Returns the attribution log.

The reference apps, uvicorn and httpx are imported inside the functions, so
importing this module costs nothing until the demo runs.
"""

from __future__ import annotations

import re
from typing import Any

DEMO_CALLBACK_PORT = 9800


def _print_call(label: str, minted: Any, status: int) -> None:
    print(
        f"  {label:<12} person={minted.person} agent={minted.agent} app={minted.app} "
        f"strategy={minted.strategy} asked=[{' '.join(sorted(minted.requested_scopes))}] "
        f"got=[{' '.join(sorted(minted.access.scopes))}] token={minted.fingerprint} "
        f"-> GET /api/channels {status}"
    )


def run_broker_demo(
    idp_port: int = 9400, chat_port: int = 9500, legacy_port: int = 9600
) -> list[dict[str, Any]]:
    """Run the side-by-side demo; print each call; return the attribution log as JSON."""
    import anyio

    return anyio.run(_demo, idp_port, chat_port, legacy_port)


async def _demo(idp_port: int, chat_port: int, legacy_port: int) -> list[dict[str, Any]]:
    import tempfile
    from pathlib import Path

    import anyio
    import httpx
    import uvicorn
    from starlette.applications import Starlette

    from reference_idp.demo import WIKI, WIKI_REDIRECT, WIKI_SECRET, start_idp
    from reference_resource.demo import running_chat
    from reference_resource.settings import DEMO_EMAIL_DOMAIN, Settings
    from xaa import spec
    from xaa.adapters.broker import Broker, Keyring
    from xaa.adapters.httpx_login import login_with_password
    from xaa.adapters.starlette_broker import callback_route
    from xaa.broker import (
        AppConfig,
        AuthorizationRequired,
        BlockedByPolicy,
        MemorySessions,
        Revoked,
    )
    from xaa.client import ClientCredentials, IdpConfig

    tmp = Path(tempfile.mkdtemp(prefix="xaa-broker-demo-"))
    idp_issuer = f"http://127.0.0.1:{idp_port}"
    chat_settings = Settings.make(
        port=chat_port,
        db=str(tmp / "chat.db"),
        replay="memory",
        trust_idps=[idp_issuer],
        idp_email_domains=[(idp_issuer, DEMO_EMAIL_DOMAIN)],
    )
    legacy_settings = Settings.make(
        legacy=True, port=legacy_port, db=str(tmp / "legacy.db"), replay="memory"
    )
    callback = f"http://127.0.0.1:{DEMO_CALLBACK_PORT}/callback"
    with (
        start_idp(idp_port) as idp,
        running_chat(chat_settings) as chat,
        running_chat(legacy_settings) as legacy,
    ):
        with httpx.Client(timeout=10, follow_redirects=False) as http:
            session = login_with_password(
                http,
                idp,
                ClientCredentials.secret_basic(WIKI, WIKI_SECRET),
                "alice",
                "alice",
                WIKI_REDIRECT,
            )
        apps = [
            AppConfig("chat", chat, chat + "/api", "wiki-at-chat"),
            AppConfig(
                "legacy-chat",
                legacy,
                legacy + "/api",
                "agent-at-chat",
                auth_method=spec.AUTH_CLIENT_SECRET_POST,
                redirect_uri=callback,
            ),
        ]
        broker = Broker.from_sqlite(
            tmp / "broker.sqlite3",
            apps,
            keyring=Keyring.generate(),
            idp=IdpConfig(idp, ClientCredentials.secret_basic(WIKI, WIKI_SECRET)),
            sessions=MemorySessions({"alice": session}),
        )
        broker.set_client_secret("chat", "wiki-chat-secret")
        broker.set_client_secret("legacy-chat", "agent-chat-secret")
        server = uvicorn.Server(
            uvicorn.Config(
                Starlette(routes=[callback_route(broker)]),
                host="127.0.0.1",
                port=DEMO_CALLBACK_PORT,
                log_level="warning",
                lifespan="off",
            )
        )
        async with broker, anyio.create_task_group() as group:
            group.start_soon(server.serve)
            while not server.started:
                await anyio.sleep(0.01)
            async with httpx.AsyncClient(follow_redirects=False) as web:
                print("\n== Credential broker: one interface, two paths (summarizer for alice)")
                minted = await broker.access_token("alice", "chat", "chat.read", actor="summarizer")
                listed = await web.get(
                    chat + "/api/channels", headers={"authorization": minted.authorization()}
                )
                _print_call("chat", minted, listed.status_code)
                try:
                    await broker.access_token("alice", "chat", "chat.admin", actor="summarizer")
                except BlockedByPolicy as blocked:
                    print(f"  {'chat':<12} blocked by policy, no fallback: {blocked.to_json()}")
                try:
                    await broker.access_token(
                        "alice", "legacy-chat", "chat.read chat.write", actor="summarizer"
                    )
                except AuthorizationRequired as needed:
                    assert needed.authorization_url is not None
                    print(f"  {'legacy-chat':<12} no XAA, no grant yet: alice is sent to")
                    print(f"  {'':<12} {needed.authorization_url[:100]}...")
                    await _consent(web, needed.authorization_url)
                minted = await broker.access_token(
                    "alice", "legacy-chat", "chat.read", actor="summarizer"
                )
                listed = await web.get(
                    legacy + "/api/channels", headers={"authorization": minted.authorization()}
                )
                _print_call("legacy-chat", minted, listed.status_code)
                report = await broker.revoke("agent", "summarizer")
                print(
                    f"  kill switch  agent:summarizer -> {report.vault_slots_deleted} vault slot, "
                    f"{report.revoked_at_app} tokens revoked at the apps (RFC 7009)"
                )
                try:
                    await broker.access_token("alice", "chat", "chat.read", actor="summarizer")
                except Revoked as revoked:
                    print(f"  {'chat':<12} fails closed: {revoked}")
            server.should_exit = True
        records = [record.to_json() for record in broker.log()]
    print("\n== Attribution log (xaa broker log)")
    for record in records:
        print(
            f"  {record['event']:<6} {record['person']} via {record['agent']} "
            f"{record['app']} {record['strategy']} {record['fingerprint'] or record['detail']}"
        )
    return records


async def _consent(web: Any, url: str) -> None:
    """Play alice on the legacy app's login and consent pages, then follow to the callback."""
    page = await web.get(url)
    pending = re.search(r"name='pending' value='([^']+)'", page.text)
    if pending is None:
        raise RuntimeError("the legacy app did not show its login page")
    base = url.split("/authorize")[0]
    form = {"pending": pending.group(1), "username": "alice", "password": "alice-chat"}
    await web.post(base + "/login", data=form)
    answer = await web.post(
        base + "/consent", data={"pending": pending.group(1), "decision": "allow"}
    )
    landed = await web.get(answer.headers["location"])
    if landed.status_code != 200:
        raise RuntimeError("the broker callback refused the authorization response")


if __name__ == "__main__":
    run_broker_demo()
