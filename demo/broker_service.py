"""For ``make demo``: an agent goes through the broker service (``xaa broker serve``).

:func:`run_broker_service_demo` starts the reference IdP, the chat app (XAA), the
legacy chat app (plain OAuth only) and the broker service (its configuration
template, ``xaa broker config --template``), then: alice signs in to the
broker's pages through the IdP; the agent ``summarizer`` authenticates with a
SPIFFE JWT-SVID and calls ``POST /v1/token`` for chat (XAA) and for the legacy
chat app (``consent_required``, alice connects it, then a token); alice's
activity page lists both; she revokes the agent and its next call is refused.
The demo plays alice's browser with httpx (the forms are plain HTML).

Imports of the reference apps and httpx happen inside the functions.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

BROKER_PORT = 9800
SUMMARIZER = "spiffe://acme.example/agent/summarizer"


def run_broker_service_demo(
    idp_port: int = 9400,
    chat_port: int = 9500,
    legacy_port: int = 9600,
    broker_port: int = BROKER_PORT,
) -> list[dict[str, Any]]:
    """Run the demo; print each step; return the agent's token responses (tokens removed)."""
    import contextlib

    from reference_broker.app import create_app
    from reference_broker.config import load_config
    from reference_broker.config_check import template_text
    from reference_idp.app import create_app as create_idp
    from reference_idp.config import demo_config_text
    from reference_idp.config import load_config as load_idp_config
    from reference_idp.store import Store
    from reference_resource.app import create_app as create_chat
    from reference_resource.settings import DEMO_EMAIL_DOMAIN, Settings
    from xaa.adapters.broker import Keyring
    from xaa.adapters.serving import serve_in_thread

    tmp = Path(tempfile.mkdtemp(prefix="xaa-broker-service-demo-"))
    broker = f"http://127.0.0.1:{broker_port}"
    ports = {9400: idp_port, 9500: chat_port, 9600: legacy_port, 9800: broker_port}
    idp_text = demo_config_text().replace(
        'redirect_uris = ["http://127.0.0.1:9700/callback"]',
        'redirect_uris = ["http://127.0.0.1:9700/callback", "http://127.0.0.1:9800/login/callback"]',
    )
    broker_text = template_text().replace('db = "xaa-broker.sqlite3"', f'db = "{tmp / "b.db"}"')
    for fixed, port in ports.items():
        idp_text = idp_text.replace(f"127.0.0.1:{fixed}", f"127.0.0.1:{port}")
        broker_text = broker_text.replace(f"127.0.0.1:{fixed}", f"127.0.0.1:{port}")
    (tmp / "idp.toml").write_text(idp_text)
    (tmp / "broker.toml").write_text(broker_text)
    store = Store(tmp / "idp.db")
    chat = Settings.make(
        port=chat_port,
        db=str(tmp / "chat.db"),
        replay="memory",
        trust_idps=[f"http://127.0.0.1:{idp_port}"],
        idp_email_domains=[(f"http://127.0.0.1:{idp_port}", DEMO_EMAIL_DOMAIN)],
    )
    legacy = Settings.make(legacy=True, port=legacy_port, db=str(tmp / "legacy.db"))
    service = create_app(load_config(tmp / "broker.toml"), keyring=Keyring.generate())
    with contextlib.ExitStack() as running:
        running.callback(store.close)
        running.enter_context(
            serve_in_thread(create_idp(load_idp_config(tmp / "idp.toml"), store), port=idp_port)
        )
        running.enter_context(serve_in_thread(create_chat(chat), port=chat_port))
        running.enter_context(serve_in_thread(create_chat(legacy), port=legacy_port))
        running.enter_context(serve_in_thread(service, port=broker_port))
        return _walk(broker, f"http://127.0.0.1:{chat_port}")


def _walk(broker: str, chat: str) -> list[dict[str, Any]]:
    import httpx

    from reference_idp.config import demo_config_text
    from xaa import SigningKey

    from .actors import mint_jwt_svid

    spire = SigningKey.from_jwk(tomllib.loads(demo_config_text())["demo"]["spire_private_jwk"])
    answers: list[dict[str, Any]] = []

    def agent_asks(app: str) -> dict[str, Any]:
        svid = mint_jwt_svid(spire, SUMMARIZER, broker)
        body = {"person": "alice", "app": app, "scopes": ["chat.read"]}
        answer = httpx.post(
            broker + "/v1/token", json=body, headers={"authorization": f"Bearer {svid}"}
        )
        data: dict[str, Any] = answer.json()
        shown = {k: v for k, v in data.items() if k != "access_token"}
        if answer.status_code == 200:
            summary = (
                f"via {data['via']} ({data['strategy']}), person={data['person']} "
                f"agent={data['agent']} scope={data['scope']} {data['fingerprint']}"
            )
        else:
            extra = data.get("consent_url") or data.get("target") or ""
            summary = f"{data['error']}: {data['error_description']} {extra}".rstrip()
        print(f"  summarizer -> POST /v1/token {app}: HTTP {answer.status_code} {summary}")
        answers.append(shown)
        return data

    print("\n== The broker service: agents ask one API, people control it on their pages")
    with httpx.Client(timeout=10) as browser:
        _sign_in(browser, broker)
        print(f"  alice signs in to {broker}/ through the IdP (OIDC code + PKCE)")
        token = agent_asks("chat")
        listed = httpx.get(
            chat + "/api/channels", headers={"authorization": f"Bearer {token['access_token']}"}
        )
        print(f"  summarizer -> GET chat /api/channels with it: HTTP {listed.status_code}")
        needed = agent_asks("legacy-chat")
        print(f"  alice opens {needed['consent_url']} and connects the legacy app")
        page = browser.get(needed["consent_url"])
        started = browser.post(needed["consent_url"], data={"csrf_token": _csrf(page.text)})
        landed = _legacy_consent(browser, started.headers["location"])
        print(f"  the legacy app sends her back: {_message(landed.text)}")
        agent_asks("legacy-chat")
        activity = browser.get(broker + "/activity").text
        print("  alice's activity page:")
        for row in re.findall(r'<tr class="activity">(.*?)</tr>', activity, re.S):
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row)]
            print("    " + " | ".join(cells))
        home = browser.get(broker + "/")
        form = {"csrf_token": _csrf(home.text), "kind": "agent", "name": "summarizer"}
        browser.post(broker + "/revoke", data=form)
        print("  alice revokes the agent summarizer")
        agent_asks("chat")
    return answers


def _sign_in(browser: Any, broker: str) -> None:
    from xaa.adapters.httpx_login import LoginForm

    page = browser.get(broker + "/login", follow_redirects=True)
    form = LoginForm()
    form.feed(page.text)
    fields = {**form.fields, "username": "alice", "password": "alice"}
    done = browser.post(
        urljoin(str(page.url), form.action or ""), data=fields, follow_redirects=True
    )
    if 'id="person">alice<' not in done.text:
        raise RuntimeError("alice could not sign in to the broker")


def _csrf(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    if found is None:
        raise RuntimeError("no form on the page")
    return found.group(1)


def _legacy_consent(browser: Any, url: str) -> Any:
    page = browser.get(url)
    pending = re.search(r"name='pending' value='([^']+)'", page.text)
    if pending is None:
        raise RuntimeError("the legacy app did not show its login page")
    base = url.split("/authorize")[0]
    form = {"pending": pending.group(1), "username": "alice", "password": "alice-chat"}
    browser.post(base + "/login", data=form)
    answer = browser.post(
        base + "/consent", data={"pending": pending.group(1), "decision": "allow"}
    )
    return browser.get(answer.headers["location"])


def _message(text: str) -> str:
    found = re.search(r'<p id="message" role="status">(.*?)</p>', text, re.S)
    return found.group(1) if found else "(no message)"


if __name__ == "__main__":
    run_broker_service_demo()
