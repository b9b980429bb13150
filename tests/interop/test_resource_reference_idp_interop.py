"""The whole XAA flow between the two reference apps over loopback, then the MCP SDK.

alice signs in at reference_idp (code + PKCE), the wiki client exchanges her ID token for an
ID-JAG (draft §4.3), redeems it at reference_resource (draft §4.4) and uses the chat API; the
MCP SDK's IdentityAssertionOAuthProvider does the same with an ID-JAG from the reference IdP.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from reference_idp.app import create_app as create_idp
from reference_idp.config import IdpConfig, demo_config_text
from reference_idp.demo import WIKI_REDIRECT, login
from reference_idp.store import Store
from reference_resource import Settings, create_app
from reference_resource.demo import chat_round_trip, redeem_id_jag
from tests.support.servers import free_port, serve
from xaa import basic_header, spec

pytestmark = pytest.mark.e2e


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    chat_port, idp_port = free_port(), free_port()
    chat, idp = f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{idp_port}"
    text = demo_config_text().replace("http://127.0.0.1:9500", chat)
    config = IdpConfig.model_validate(tomllib.loads(text)).with_issuer(idp)
    store = Store(":memory:")
    db = str(tmp_path_factory.mktemp("ref") / "chat.db")
    settings = Settings.make(
        port=chat_port, db=db, trust_idps=[idp], idp_email_domains=[(idp, "acme.example")]
    )
    with serve(create_idp(config, store), idp_port), serve(create_app(settings), chat_port):
        yield idp, chat
    store.close()


def id_jag(idp: str, audience: str, resource: str, scope: str) -> str:
    """alice's SSO at the IdP as the wiki, then the token exchange for an ID-JAG."""
    basic = {"authorization": basic_header("wiki", "wiki-secret")}
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        auth = login(browser, idp)
        tokens = browser.post(
            idp + "/token",
            headers=basic,
            data={
                "grant_type": "authorization_code",
                "code": auth["code"],
                "code_verifier": auth["code_verifier"],
                "redirect_uri": WIKI_REDIRECT,
            },
        ).json()
        exchanged = browser.post(
            idp + "/token",
            headers=basic,
            data={
                "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
                "audience": audience,
                "resource": resource,
                "scope": scope,
                "subject_token": tokens["id_token"],
                "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
            },
        )
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG
    return str(exchanged.json()["access_token"])


def test_reference_idp_to_reference_resource(apps: tuple[str, str]) -> None:
    idp, chat = apps
    jag = id_jag(idp, chat, chat + "/api", "chat.read chat.history chat.write")
    tokens = redeem_id_jag(chat, jag)
    assert tokens["scope"] == "chat.history chat.read chat.write"
    got = chat_round_trip(chat, tokens["access_token"], text="hello via the reference IdP")
    message: dict[str, Any] = got["posted"]["body"]
    assert got["posted"]["status"] == 201
    assert message["attribution"] == "alice" and message["client_id"] == "wiki-at-chat"
    assert message["idp"] == idp


class _Tokens:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        del client_info


@pytest.mark.anyio
async def test_mcp_sdk_with_an_id_jag_from_the_reference_idp(
    apps: tuple[str, str], tmp_path: Path
) -> None:
    del tmp_path
    idp, chat = apps

    async def assertion(audience: str, resource: str) -> str:
        return id_jag(idp, audience, resource, "chat.read chat.write")

    provider = IdentityAssertionOAuthProvider(
        server_url=chat + "/api",
        storage=_Tokens(),
        client_id="wiki-at-chat",
        client_secret="wiki-chat-secret",
        issuer=chat,
        assertion_provider=assertion,
        token_endpoint_auth_method="client_secret_basic",
    )
    async with httpx2.AsyncClient(auth=provider) as client:
        index = await client.get(chat + "/api")
        assert index.status_code == 200, index.text
        assert index.json()["you"]["idp_iss"] == idp
        posted = await client.post(
            chat + "/api/channels/general/messages", json={"text": "MCP SDK + reference IdP"}
        )
    assert posted.status_code == 201, posted.text
