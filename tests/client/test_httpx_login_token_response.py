"""The demo login helper refuses a token response that is not one strict JSON object, and
names the hop and the IdP when the IdP refuses the authorization code."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from xaa import ProtocolViolation, rules
from xaa._jose import strict_json_object
from xaa.adapters.httpx_login import login_with_password
from xaa.client import HOP_TOKEN_REQUEST, ClientCredentials, TokenRequestRefused
from xaa.client import _http as client_http

IDP = "https://idp.example"
REDIRECT = "https://app.example/callback"
FORM = '<form method="post" action="/login"><input name="csrf" value="t"></form>'


def idp_answering_token_with(body: bytes, status: int = 200) -> httpx.Client:
    """An IdP whose metadata, login page and redirect are fine; its token answer is ``body``."""
    state: dict[str, str] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/.well-known/"):
            return httpx.Response(200, json={
                "issuer": IDP, "authorization_endpoint": IDP + "/authorize",
                "token_endpoint": IDP + "/token",
            })  # fmt: skip
        if path == "/authorize":
            state["state"] = parse_qs(urlsplit(str(request.url)).query)["state"][0]
            return httpx.Response(200, text=FORM, headers={"content-type": "text/html"})
        if path == "/login":
            location = f"{REDIRECT}?code=c&state={state['state']}&iss={IDP}"
            return httpx.Response(303, headers={"location": location})
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return httpx.Client(transport=httpx.MockTransport(handle))


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"id_token": "a", "id_token": "b"}', b'["id_token"]'],
    ids=["not-json", "duplicate-member", "not-an-object"],
)
def test_login_refuses_a_token_response_that_is_not_one_json_object(body: bytes) -> None:
    wiki = ClientCredentials.secret_basic("wiki", "wiki-secret")
    with idp_answering_token_with(body) as http, pytest.raises(ProtocolViolation) as caught:
        login_with_password(http, IDP, wiki, "alice", "alice", REDIRECT)
    assert caught.value.rule == rules.ERROR_RESPONSE


def test_login_parses_the_token_response_once(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"iss": IDP, "sub": "alice"}).encode())
    id_token = "eyJhbGciOiJSUzI1NiJ9." + claims.decode().rstrip("=") + ".c2ln"
    token_body = json.dumps({"id_token": id_token, "token_type": "Bearer"}).encode()
    parsed: list[bytes] = []

    def counting(raw: bytes | str) -> dict[str, object]:
        parsed.append(raw if isinstance(raw, bytes) else raw.encode())
        return strict_json_object(raw)

    monkeypatch.setattr(client_http, "strict_json_object", counting)
    wiki = ClientCredentials.secret_basic("wiki", "wiki-secret")
    with idp_answering_token_with(token_body) as http:
        session = login_with_password(http, IDP, wiki, "alice", "alice", REDIRECT)
    assert session.id_token == id_token
    assert parsed.count(token_body) == 1


def test_login_code_refusal_names_the_token_request_hop_and_the_idp() -> None:
    body = b'{"error": "invalid_client", "error_description": "Client authentication failed."}'
    wiki = ClientCredentials.secret_basic("wiki", "not-the-secret")
    with idp_answering_token_with(body, 401) as http, pytest.raises(TokenRequestRefused) as caught:
        login_with_password(http, IDP, wiki, "alice", "alice", REDIRECT)
    refused = caught.value
    assert (refused.hop, refused.issuer) == (HOP_TOKEN_REQUEST, IDP)
    assert refused.error == "invalid_client"
    assert str(refused) == (
        f"the server at {IDP} refused the token request: invalid_client "
        "(Client authentication failed.)"
    )
