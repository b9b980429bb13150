"""For ``make demo``: one Cross App Access run with DPoP (RFC 9449) on every hop.

:func:`run_dpop_demo` takes a running reference IdP and chat app (both with DPoP
enabled, their default), signs alice in through the IdP's login form as the
``wiki`` client, and then, with one ES256 DPoP key: gets an ID-JAG bound to the
key (``cnf.jkt``), redeems it for a DPoP-bound access token (``token_type`` ``DPoP``,
``cnf.jkt`` in the ``at+jwt``) and calls the chat API with ``Authorization: DPoP``
and a proof carrying ``ath``. Finally it shows the same token refused as ``Bearer``.
Every step is printed; the decoded tokens are NOT verified here (the servers did).
"""

from __future__ import annotations

import json
from typing import Any

WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
SCOPE = "chat.read chat.history"


def _claims(token: str) -> dict[str, Any]:
    from xaa import InvalidRequest, parse_compact

    return dict(parse_compact(token, error=InvalidRequest).payload)


def _show(label: str, value: Any) -> None:
    text = json.dumps(value, indent=2, sort_keys=True).replace("\n", "\n  ")
    print(f"  {label}: {text}")


def run_dpop_demo(idp_url: str, chat_url: str) -> None:
    """Print a DPoP run (alice through the wiki client) against running reference servers."""
    import httpx

    from xaa.adapters.httpx_client import XAAAuth, XAAClient
    from xaa.adapters.httpx_login import login_with_password
    from xaa.client import ClientConfig, ClientCredentials, DpopKeyProver, IdpConfig

    idp_url, chat_url = idp_url.rstrip("/"), chat_url.rstrip("/")
    api = chat_url + "/api"
    prover = DpopKeyProver.generate()
    print("== DPoP on every hop (RFC 9449, draft §8.6) ==")
    print(f"  client DPoP key: {prover.key.alg}, jkt {prover.thumbprint}")
    wiki = ClientCredentials.secret_basic("wiki", "wiki-secret")  # demo configuration only
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        session = login_with_password(http, idp_url, wiki, "alice", "alice", WIKI_REDIRECT)
        config = ClientConfig(
            IdpConfig(idp_url, wiki),
            {chat_url: ClientCredentials.secret_basic("wiki-at-chat", "wiki-chat-secret")},
            dpop=prover,
        )
        client = XAAClient(config, session=session, http=http)
        print("1. token exchange at the IdP, with a DPoP proof (htm POST, htu the token endpoint)")
        jag = client.get_id_jag(chat_url, api, SCOPE)
        _show("ID-JAG claims (decoded)", _claims(jag.token))
        bound = jag.claims.cnf is not None and jag.claims.cnf.jkt == prover.thumbprint
        print(f"  cnf.jkt is our key's thumbprint: {bound}")
        print("2. jwt-bearer at the chat AS, with a fresh proof for its token endpoint")
        token = client.get_token(api, SCOPE, authorization_server=chat_url)
        print(f"  token_type: {token.token_type}")
        _show("access token claims (decoded)", _claims(token.token))
        print("3. GET /api/channels with Authorization: DPoP <token> and a proof with ath")
        auth = XAAAuth(client, resource=api, scope=SCOPE, authorization_server=chat_url)
        with httpx.Client(auth=auth, timeout=10) as chat:
            answer = chat.get(api + "/channels")
        print(f"  -> HTTP {answer.status_code} {answer.text[:120]}")
        print("4. the same token sent as Bearer (a stolen token without the key)")
        stolen = httpx.get(
            api + "/channels", headers={"authorization": f"Bearer {token.token}"}, timeout=10
        )
        print(f"  -> HTTP {stolen.status_code} {stolen.json().get('error')}")
