"""The broker service over the real reference apps, on free loopback ports.

The reference IdP (demo configuration; the broker signs people in as the
``wiki`` client, so the broker's ``/login/callback`` URLs are added to its
redirect URIs), the chat app (XAA), the legacy chat app (no XAA) and one or
more broker service instances over the same SQLite file and vault keys.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from demo.actors import SPIRE_ISSUER, mint_jwt_svid
from reference_broker.app import create_app
from reference_broker.config import load_config
from reference_idp.app import create_app as create_idp
from reference_idp.config import demo_config_text
from reference_idp.config import load_config as load_idp_config
from reference_idp.store import Store
from reference_resource.app import create_app as create_chat
from reference_resource.settings import DEMO_EMAIL_DOMAIN, Settings
from tests.broker.reference_stack import LEGACY_PASSWORD, LEGACY_USER
from tests.support.servers import free_port, serve
from xaa import SigningKey, make_client_assertion
from xaa.adapters.broker import Keyring
from xaa.adapters.httpx_login import LoginForm

SUMMARIZER = "spiffe://acme.example/agent/summarizer"
DEMO = tomllib.loads(demo_config_text())["demo"]
SPIRE_KEY = SigningKey.from_jwk(DEMO["spire_private_jwk"])
BUNDLE = tomllib.loads(demo_config_text())["actors"]["issuers"][0]["spiffe_bundle"]
REPORTER_KEY = SigningKey.generate(kid="reporter-1")


@dataclass
class ServiceStack:
    idp: str
    chat: str
    legacy: str
    brokers: list[str]
    tmp: Path
    keyring: Keyring
    configs: list[Path] = field(default_factory=list)

    @property
    def broker(self) -> str:
        return self.brokers[0]

    def svid(
        self,
        spiffe_id: str = SUMMARIZER,
        *,
        key: SigningKey = SPIRE_KEY,
        audience: str | None = None,
        **kw: Any,
    ) -> str:
        """A JWT-SVID from the demo SPIRE server, ``aud`` the (first) broker."""
        return mint_jwt_svid(key, spiffe_id, audience or self.broker, **kw)

    def assertion(self, client_id: str = "reporter", *, now: float | None = None) -> str:
        """A ``private_key_jwt`` client assertion for the broker."""
        return make_client_assertion(
            client_id, REPORTER_KEY, audience=self.broker, now=now or time.time()
        )


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def service_config_text(
    *,
    public_url: str,
    idp: str,
    chat: str,
    legacy: str,
    db: Path,
    bundle: Path,
    callback: str,
    redis_url: str | None = None,
) -> str:
    """A broker service configuration for the stack."""
    jwks = {"keys": [REPORTER_KEY.public_jwk()]}
    redis = f'redis_url = "{redis_url}"' if redis_url else ""
    return f"""
public_url = "{public_url}"
db = "{db}"
{redis}

[idp]
issuer = "{idp}"
client_id = "wiki"
client_secret = "wiki-secret"

[[trust_domains]]
trust_domain = "acme.example"
issuer = "{SPIRE_ISSUER}"
bundle_file = "{bundle}"

[[apps]]
name = "chat"
title = "Chat"
issuer = "{chat}"
resource = "{chat}/api"
client_id = "wiki-at-chat"
client_secret = "wiki-chat-secret"
scopes = ["chat.read", "chat.history"]

[[apps]]
name = "legacy-chat"
title = "Legacy chat"
issuer = "{legacy}"
resource = "{legacy}/api"
client_id = "agent-at-chat"
auth_method = "client_secret_post"
client_secret = "agent-chat-secret"
redirect_uri = "{callback}"
scopes = ["chat.read", "chat.history"]

[[agents]]
name = "summarizer"
owner = "Alex Agent (AI platform team) <alex@acme.example>"
spiffe_id = "{SUMMARIZER}"
apps = ["chat", "legacy-chat"]
scopes = ["chat.read", "chat.history"]

[[agents]]
name = "reporter"
owner = "Rita Reports (analytics) <rita@acme.example>"
client_id = "reporter"
jwks = {_toml(jwks)}
apps = ["chat"]
scopes = ["chat.read"]

[[agents]]
name = "paused"
owner = "Alex Agent (AI platform team) <alex@acme.example>"
spiffe_id = "spiffe://acme.example/agent/paused"
apps = ["chat"]
scopes = ["chat.read"]
status = "suspended"
"""


@contextlib.contextmanager
def service_stack(
    tmp: Path, *, instances: int = 1, redis_url: str | None = None, chat_trusts_idp: bool = True
) -> Iterator[ServiceStack]:
    """IdP, chat, legacy chat and ``instances`` broker services (same SQLite file or Redis,
    same keys); every instance's legacy callback is the last instance's ``/callback``."""
    idp_port, chat_port, legacy_port = free_port(), free_port(), free_port()
    broker_ports = [free_port() for _ in range(instances)]
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    legacy = f"http://127.0.0.1:{legacy_port}"
    brokers = [f"http://127.0.0.1:{p}" for p in broker_ports]
    text = demo_config_text().replace("http://127.0.0.1:9500", chat)
    text = text.replace("http://127.0.0.1:9400", idp)
    callbacks = ", ".join(f'"{b}/login/callback"' for b in brokers)
    text = text.replace(
        'redirect_uris = ["http://127.0.0.1:9700/callback"]',
        f'redirect_uris = ["http://127.0.0.1:9700/callback", {callbacks}]',
    )
    (tmp / "idp.toml").write_text(text)
    store = Store(tmp / "idp.sqlite3")
    idp_app = create_idp(load_idp_config(tmp / "idp.toml"), store)
    chat_settings = Settings.make(
        port=chat_port,
        db=str(tmp / "chat.db"),
        replay="memory",
        trust_idps=[idp if chat_trusts_idp else "https://elsewhere.example"],
        idp_email_domains=[(idp, DEMO_EMAIL_DOMAIN)],  # the demo users' domain
    )
    legacy_settings = Settings.make(
        legacy=True, port=legacy_port, db=str(tmp / "legacy.db"), replay="memory"
    )
    bundle = tmp / "bundle.json"
    bundle.write_text(json.dumps(BUNDLE))
    keyring = Keyring.generate()
    stack = ServiceStack(idp, chat, legacy, brokers, tmp, keyring)
    with contextlib.ExitStack() as running:
        running.callback(store.close)
        running.enter_context(serve(idp_app, idp_port))
        running.enter_context(serve(create_chat(chat_settings), chat_port))
        running.enter_context(serve(create_chat(legacy_settings), legacy_port))
        for i, (url, port) in enumerate(zip(brokers, broker_ports, strict=True)):
            path = tmp / f"broker-{i}.toml"
            path.write_text(
                service_config_text(
                    public_url=url,
                    idp=idp,
                    chat=chat,
                    legacy=legacy,
                    db=tmp / "broker.sqlite3",
                    bundle=bundle,
                    callback=brokers[-1] + "/callback",
                    redis_url=redis_url,
                )
            )
            stack.configs.append(path)
            running.enter_context(serve(create_app(load_config(path), keyring=keyring), port))
        yield stack


def sign_in(http: httpx.Client, broker: str, username: str = "alice") -> None:
    """A person signs in to the broker's pages through the IdP's login form (no browser)."""
    page = http.get(broker + "/login", follow_redirects=True)
    form = LoginForm()
    form.feed(page.text)
    action = urljoin(str(page.url), form.action or "")
    fields = {**form.fields, "username": username, "password": username}
    answer = http.post(action, data=fields, follow_redirects=True)
    assert answer.status_code == 200, answer.text[:300]
    assert f'id="person">{username}<' in answer.text


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text[:300]
    return found.group(1)


def consent_at_legacy(http: httpx.Client, url: str) -> httpx.Response:
    """The legacy app's login and consent forms; returns the broker callback's page."""
    page = http.get(url)
    pending = re.search(r"name='pending' value='([^']+)'", page.text)
    assert page.status_code == 200 and pending is not None, page.text[:200]
    base = url.split("/authorize")[0]
    form = {"pending": pending.group(1), "username": LEGACY_USER, "password": LEGACY_PASSWORD}
    consent = http.post(base + "/login", data=form)
    assert "Allow access?" in consent.text
    answer = http.post(base + "/consent", data={"pending": pending.group(1), "decision": "allow"})
    assert answer.status_code == 303
    return http.get(answer.headers["location"])


def ask(
    broker: str,
    app: str,
    scopes: list[str],
    *,
    svid: str | None = None,
    assertion: str | None = None,
    person: str = "alice",
) -> httpx.Response:
    """The agent's token request."""
    body: dict[str, Any] = {"person": person, "app": app, "scopes": scopes}
    headers = {}
    if svid is not None:
        headers["authorization"] = f"Bearer {svid}"
    if assertion is not None:
        body["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        body["client_assertion"] = assertion
    return httpx.post(broker + "/v1/token", json=body, headers=headers, timeout=20)
