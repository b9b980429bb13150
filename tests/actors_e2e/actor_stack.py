"""The reference IdP and chat app on loopback, with the actor profile of the demo config."""

from __future__ import annotations

import contextlib
import secrets
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from demo.actors import PLATFORM_ISSUER, SPIRE_ISSUER, TRIAGE
from reference_idp.app import create_app as create_idp
from reference_idp.config import IdpConfig, demo_config_text, load_config
from reference_idp.store import Store
from reference_resource.app import create_app as create_chat
from reference_resource.settings import Settings
from reference_resource.store import ChatStore
from tests.support.servers import free_port, serve
from xaa import (
    AccessTokenClaims,
    Actor,
    OAuthError,
    SigningKey,
    encode_form,
    issue_access_token,
    issue_jwt,
    parse_compact,
    spec,
)
from xaa.actors import ActorRequirement
from xaa.adapters.httpx_login import login_with_password
from xaa.client import ClientCredentials

DEMO = load_config().demo
SPIRE_KEY = SigningKey.from_jwk(DEMO["spire_private_jwk"])
PLATFORM_KEY = SigningKey.from_jwk(DEMO["agents_private_jwk"])
AGENT = ClientCredentials.private_key_jwt("agent", SigningKey.from_jwk(DEMO["agent_private_jwk"]))
WIKI = ClientCredentials.secret_basic("wiki", "wiki-secret")
AGENT_REDIRECT = "http://127.0.0.1:9701/callback"
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
CHAT_CLIENT = ("agent-at-chat", "agent-chat-secret")
SCOPE = "chat.read chat.write"


def unverified(token: str) -> dict[str, Any]:
    """The payload of a compact JWS (the servers verified it; tests only read it)."""
    return parse_compact(token, error=OAuthError).payload


@dataclass
class Stack:
    """Running servers and their stores, plus one-call helpers for each protocol step."""

    idp: str
    chat: str
    idp_store: Store
    chat_store: ChatStore
    http: httpx.Client

    @property
    def api(self) -> str:
        return self.chat + "/api"

    def login(self, user: str = "alice", client: ClientCredentials = AGENT) -> str:
        """An ID token for ``user`` (code flow with PKCE through the login form)."""
        redirect = AGENT_REDIRECT if client is AGENT else WIKI_REDIRECT
        with httpx.Client(timeout=10.0) as browser:  # a fresh browser: no IdP session cookie
            session = login_with_password(browser, self.idp, client, user, user, redirect)
        assert session.id_token is not None
        return session.id_token

    def svid(self, sub: str = TRIAGE, *, key: SigningKey = SPIRE_KEY, **changes: Any) -> str:
        """A JWT-SVID of the demo trust domain for this IdP; ``changes`` edit the claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": SPIRE_ISSUER,
            "sub": sub,
            "aud": [self.idp],
            "iat": now,
            "exp": now + 300,
            **changes,
        }
        return issue_jwt(claims, key, typ="JWT")

    def platform_token(
        self, sub: str, earlier: Actor, *, key: SigningKey = PLATFORM_KEY, client: str = "agent"
    ) -> str:
        """The agent platform's access token: ``sub`` the current actor, ``act`` earlier ones."""
        now = int(time.time())
        claims = AccessTokenClaims.model_validate(
            {
                "iss": PLATFORM_ISSUER,
                "sub": sub,
                "aud": self.idp,
                "client_id": client,
                "jti": secrets.token_urlsafe(8),
                "iat": now,
                "exp": now + 300,
                "act": earlier.model_dump(exclude_none=True),
            }
        )
        return issue_access_token(claims, key)

    def exchange(
        self,
        subject_token: str,
        actor_token: str | None = None,
        actor_token_type: str = spec.TOKEN_TYPE_JWT,
        *,
        client: ClientCredentials = AGENT,
        subject_token_type: str = spec.TOKEN_TYPE_ID_TOKEN,
        scope: str = SCOPE,
    ) -> httpx.Response:
        """One token exchange at the IdP (draft §4.3), with the actor token when given."""
        form: dict[str, str | list[str]] = {
            spec.P_GRANT_TYPE: spec.GRANT_TOKEN_EXCHANGE,
            spec.P_REQUESTED_TOKEN_TYPE: spec.TOKEN_TYPE_ID_JAG,
            spec.P_AUDIENCE: self.chat,
            spec.P_RESOURCE: self.api,
            spec.P_SCOPE: scope,
            spec.P_SUBJECT_TOKEN: subject_token,
            spec.P_SUBJECT_TOKEN_TYPE: subject_token_type,
        }
        if actor_token is not None:
            form[spec.P_ACTOR_TOKEN] = actor_token
            form[spec.P_ACTOR_TOKEN_TYPE] = actor_token_type
        headers = {"content-type": spec.MEDIA_TYPE_FORM}
        client.apply(form, headers, issuer=self.idp, now=time.time())
        return self.http.post(self.idp + "/token", content=encode_form(form), headers=headers)

    def id_jag(
        self,
        subject_token: str,
        actor_token: str | None = None,
        actor_token_type: str = spec.TOKEN_TYPE_JWT,
    ) -> str:
        """The ID-JAG of a successful exchange."""
        response = self.exchange(subject_token, actor_token, actor_token_type)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def redeem(self, assertion: str) -> httpx.Response:
        """The jwt-bearer grant at the chat AS (draft §4.4), client_secret_post."""
        data = {
            spec.P_GRANT_TYPE: spec.GRANT_JWT_BEARER,
            spec.P_ASSERTION: assertion,
            "client_id": CHAT_CLIENT[0],
            "client_secret": CHAT_CLIENT[1],
        }
        return self.http.post(self.chat + "/token", data=data)

    def access_token(self, assertion: str) -> str:
        response = self.redeem(assertion)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def post(self, access_token: str, text: str = "hello") -> dict[str, Any]:
        response = self.http.post(
            self.api + "/channels/general/messages",
            json={"text": text},
            headers={"authorization": f"Bearer {access_token}"},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


def idp_config(idp: str, chat: str, actor_scopes: list[str] | None) -> IdpConfig:
    """The demo configuration on these ports; ``actor_scopes`` replaces the rule's ceiling."""
    text = demo_config_text().replace("http://127.0.0.1:9500", chat)
    data = tomllib.loads(text.replace("http://127.0.0.1:9400", idp))
    if actor_scopes is not None:
        data["actors"]["rules"][0]["scopes"] = actor_scopes
    return IdpConfig.model_validate(data)


@contextlib.contextmanager
def running_stack(
    tmp_path: Path,
    *,
    actor_scopes: list[str] | None = None,
    actor_default: ActorRequirement = "allow",
) -> Iterator[Stack]:
    """Both servers on ephemeral ports, each configured for the other."""
    idp_port, chat_port = free_port(), free_port()
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    settings = replace(
        Settings.make(port=chat_port, db=str(tmp_path / "chat.db"), replay="memory"),
        trusted_idps=(idp,),
        idp_email_domains=((idp, "acme.example"),),
        actor_default=actor_default,
    )
    idp_store = Store(tmp_path / "idp.db")
    chat_app = create_chat(settings)
    try:
        with (
            serve(create_idp(idp_config(idp, chat, actor_scopes), idp_store), port=idp_port),
            serve(chat_app, port=chat_port),
            httpx.Client(timeout=10.0) as http,
        ):
            yield Stack(idp, chat, idp_store, chat_app.state.store, http)
    finally:
        idp_store.close()
