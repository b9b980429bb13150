"""The SAML part of ``make demo`` (draft §4.5): SAML SSO -> refresh token -> ID-JAG -> API.

``run_saml_demo(idp_url, chat_url)`` talks HTTP to a running reference IdP (demo
configuration: SP ``wiki-saml`` is client ``wiki``) and a running chat app, and
prints each step: alice's SAML login through the real login form, the (abridged)
signed assertion, its exchange for a refresh token, the ID-JAG that refresh token
yields, the access token, and a chat API call.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

from xaa import basic_header, encode_form, spec
from xaa.adapters.httpx_login import login_with_saml
from xaa.adapters.saml import assertion_from_response, encode_subject_token
from xaa.client import decode_id_jag

SP = "wiki-saml"
WIKI, WIKI_SECRET = "wiki", "wiki-secret"  # demo configuration: public, demo only
WIKI_AT_CHAT, WIKI_AT_CHAT_SECRET = "wiki-at-chat", "wiki-chat-secret"
_LONG = re.compile(r"(<ds:(?:SignatureValue|DigestValue|X509Certificate)>)([^<]{24})[^<]*(<)")


def abridge(xml: bytes) -> str:
    """The assertion one element per line, base64 blobs cut short."""
    text = _LONG.sub(r"\1\2...\3", xml.decode("utf-8"))
    return re.sub(r"><", ">\n<", text)


def _short(token: str) -> str:
    return f"{token[:12]}... ({len(token)} chars)"


def _post(http: httpx.Client, url: str, auth: tuple[str, str], form: dict[str, str]) -> Any:
    response = http.post(
        url,
        headers={"authorization": basic_header(*auth), "content-type": spec.MEDIA_TYPE_FORM},
        content=encode_form(form),
    )
    body = response.json()
    if response.status_code != 200:
        raise RuntimeError(f"{url} refused: {body.get('error')} ({body.get('error_description')})")
    return body


def run_saml_demo(idp_url: str, chat_url: str) -> None:
    """Print the SAML -> refresh token -> ID-JAG -> access token -> API walk-through."""
    idp_url, chat_url = idp_url.rstrip("/"), chat_url.rstrip("/")
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        token_endpoint = http.get(f"{idp_url}{spec.WELL_KNOWN_OPENID}").json()["token_endpoint"]
        print("== SAML 2.0 single sign-on, then Cross App Access (draft §4.5)")
        login = login_with_saml(http, idp_url, SP, "alice", "alice")
        print(f"1. alice signs in at {idp_url}/saml/sso?sp={SP} (login form);")
        print(f"   the IdP POSTs a SAMLResponse to the wiki's ACS {login.acs}")
        assertion = assertion_from_response(login.saml_response)
        print("2. the signed assertion (RSA-SHA256, exclusive c14n), abridged:")
        print("   " + abridge(assertion).replace("\n", "\n   "))
        refresh = _post(
            http,
            token_endpoint,
            (WIKI, WIKI_SECRET),
            {
                "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                "requested_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
                "scope": "openid offline_access",
                "subject_token": encode_subject_token(assertion),
                "subject_token_type": spec.TOKEN_TYPE_SAML2,
            },
        )
        print("3. the wiki exchanges the assertion for an IdP refresh token:")
        shown = {**refresh, "access_token": _short(refresh["access_token"])}
        print("   " + json.dumps(shown, indent=2).replace("\n", "\n   "))
        exchange = _post(
            http,
            token_endpoint,
            (WIKI, WIKI_SECRET),
            {
                "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
                "audience": chat_url,
                "resource": f"{chat_url}/api",
                "scope": "chat.read chat.history",
                "subject_token": refresh["access_token"],
                "subject_token_type": spec.TOKEN_TYPE_REFRESH_TOKEN,
            },
        )
        jag = decode_id_jag(exchange["access_token"], idp_issuer=idp_url, now=time.time())
        claims = jag.model_dump(mode="json", exclude_none=True)
        print("4. the refresh token, as subject_token, yields an ID-JAG; its claims:")
        print("   " + json.dumps(claims, indent=2, sort_keys=True).replace("\n", "\n   "))
        token = _post(
            http,
            f"{chat_url}/token",
            (WIKI_AT_CHAT, WIKI_AT_CHAT_SECRET),
            {"grant_type": spec.GRANT_JWT_BEARER, "assertion": exchange["access_token"]},
        )
        print(f"5. the chat AS redeems it: {token['token_type']} access token")
        print(f"   {_short(token['access_token'])}, scope {token.get('scope')!r}")
        api = http.get(
            f"{chat_url}/api/channels",
            headers={"authorization": f"Bearer {token['access_token']}"},
        )
        print(f"6. GET {chat_url}/api/channels -> HTTP {api.status_code}: {api.text[:200]}")
        if api.status_code != 200:
            raise RuntimeError("the chat API refused the access token")
