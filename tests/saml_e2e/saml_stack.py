"""The reference IdP (and chat app) on loopback with SAML configured, for the SAML e2e tests.

Two IdP shapes:

- :func:`kit_idp`: the attack kit's IdP (``tests/saml/saml_kit.py``): its entity ID, its
  signing key stored in the IdP's SQLite, SPs ``WIKI_SP`` -> ``wiki`` and ``CRM_SP`` ->
  ``crm``, and the token endpoint's clock set to the kit's ``NOW + 5``, so every kit
  generator (which signs at ``NOW``) produces fixtures the real endpoint judges.
- :func:`demo_stack`: the demo configuration (SP ``wiki-saml``), ports rewritten, plus the
  chat app trusting it: real time, real login form.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reference_idp.app import create_app as create_idp
from reference_idp.config import ClientConfig, demo_config_text, load_config
from reference_idp.saml import save_signing_credentials
from reference_idp.saml_config import SamlConfig, SamlServiceProviderConfig
from reference_idp.store import Store
from reference_resource.app import create_app as create_chat
from reference_resource.settings import Settings
from tests.saml.saml_kit import CRM_ACS, CRM_SP, IDP, NOW, WIKI_ACS, WIKI_SP, SamlKit
from tests.support.servers import free_port, serve
from xaa import basic_header, encode_form, spec

SECRETS = {"wiki": "wiki-secret", "crm": "crm-secret"}
CHAT_PLACEHOLDER = "http://127.0.0.1:9500"


@dataclass
class KitIdp:
    url: str
    store: Store
    kit: SamlKit

    def token(self, form: dict[str, str], client: str = "wiki") -> httpx.Response:
        headers = {
            "authorization": basic_header(client, SECRETS[client]),
            "content-type": spec.MEDIA_TYPE_FORM,
        }
        return httpx.post(self.url + "/token", headers=headers, content=encode_form(form))

    def refresh_exchange(
        self, subject_token: str, client: str = "wiki", **extra: str
    ) -> httpx.Response:
        form = {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
            "scope": "openid offline_access",
            "subject_token": subject_token,
            "subject_token_type": spec.TOKEN_TYPE_SAML2,
            **extra,
        }
        return self.token({k: v for k, v in form.items() if v}, client)

    def issued(self) -> int:
        """How many refresh tokens the SAML exchange issued (audit log)."""
        return sum(
            1
            for e in self.store.audit_events()
            if e.event == "token_exchange.refresh_token" and e.decision == "issued"
        )


def kit_config(issuer: str) -> Any:
    config = load_config()
    crm = ClientConfig(
        client_id="crm", owner="CRM team", auth_method="client_secret_basic", secret="crm-secret"
    )
    saml = SamlConfig(
        entity_id=IDP,
        service_providers=[
            SamlServiceProviderConfig(entity_id=WIKI_SP, client_id="wiki", acs_urls=[WIKI_ACS]),
            SamlServiceProviderConfig(entity_id=CRM_SP, client_id="crm", acs_urls=[CRM_ACS]),
        ],
    )
    return config.model_copy(
        update={"issuer": issuer, "clients": [*config.clients, crm], "saml": saml}
    )


@contextlib.contextmanager
def kit_idp(tmp: Path) -> Iterator[KitIdp]:
    kit = SamlKit()
    port = free_port()
    store = Store(tmp / "idp.sqlite3")
    save_signing_credentials(store, kit.key_pem, kit.cert_pem, NOW)
    app = create_idp(kit_config(f"http://127.0.0.1:{port}"), store)
    app.state.idp.exchange.clock = lambda: NOW + 5
    try:
        with serve(app, port) as url:
            yield KitIdp(url, store, kit)
    finally:
        store.close()


@dataclass
class DemoStack:
    idp: str
    chat: str
    tmp: Path


def demo_idp_config(tmp: Path, idp: str, chat: str) -> Path:
    text = demo_config_text().replace(CHAT_PLACEHOLDER, chat)
    path = tmp / "idp.toml"
    path.write_text(text.replace("http://127.0.0.1:9400", idp))
    return path


@contextlib.contextmanager
def demo_stack(tmp: Path) -> Iterator[DemoStack]:
    idp_port, chat_port = free_port(), free_port()
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    store = Store(tmp / "idp.sqlite3")
    idp_app = create_idp(load_config(demo_idp_config(tmp, idp, chat)), store)
    chat_settings = Settings.make(
        port=chat_port,
        db=str(tmp / "chat.db"),
        replay="memory",
        trust_idps=[idp],
        idp_email_domains=[(idp, "acme.example")],
    )
    try:
        with serve(idp_app, idp_port), serve(create_chat(chat_settings), chat_port):
            yield DemoStack(idp, chat, tmp)
    finally:
        store.close()
