"""The actor part of ``make demo``: a two-hop ``act`` chain from the agent to the chat API.

alice signs in at the reference IdP through the ``agent`` client. Hop 1: the
triage agent presents its SPIFFE JWT-SVID (read from a file, as a workload
agent would write it) as ``actor_token``. Hop 2: the agent platform's token
service hands the summarizer an access token naming it in ``sub`` and triage
in ``act``; presented as ``actor_token``, it yields a two-actor chain. Each hop
prints the ID-JAG ``act``, the access token ``act`` and the chat message
attribution. The SPIRE server and the platform are simulated with the
demo-only keys of the reference IdP's demo configuration (``docs/actors.md``).

The reference apps and httpx are imported inside the functions.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from xaa import AccessTokenClaims, Actor, SigningKey, issue_access_token, issue_jwt, spec

SPIRE_ISSUER = "https://spire.acme.example"
PLATFORM_ISSUER = "https://agents.acme.example"
TRIAGE = "spiffe://acme.example/agent/triage"
SUMMARIZER = "spiffe://acme.example/agent/summarizer"
AGENT_REDIRECT = "http://127.0.0.1:9701/callback"
CHAT_CLIENT = ("agent-at-chat", "agent-chat-secret")


def mint_jwt_svid(
    key: SigningKey, spiffe_id: str, audience: str, *, lifetime: int = 300, now: float | None = None
) -> str:
    """A JWT-SVID for ``spiffe_id`` with ``aud`` ``audience``, as the demo SPIRE server signs it."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": SPIRE_ISSUER,
        "sub": spiffe_id,
        "aud": [audience],
        "iat": issued,
        "exp": issued + lifetime,
    }
    return issue_jwt(claims, key, typ="JWT")


def mint_platform_token(
    key: SigningKey,
    actor: str,
    earlier: Actor,
    audience: str,
    client_id: str,
    *,
    now: float | None = None,
) -> str:
    """The agent platform's access token: ``sub`` the current actor, ``act`` the earlier ones."""
    issued = int(time.time() if now is None else now)
    claims = AccessTokenClaims.model_validate(
        {
            "iss": PLATFORM_ISSUER,
            "sub": actor,
            "aud": audience,
            "client_id": client_id,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + 300,
            "act": earlier.model_dump(exclude_none=True),
        }
    )
    return issue_access_token(claims, key)


def _claims(token: str) -> dict[str, Any]:
    from xaa import InvalidToken, parse_compact

    return parse_compact(token, error=InvalidToken).payload


def run_actor_demo(idp_url: str, chat_url: str) -> None:
    """Print a two-hop delegation chain end to end against running reference servers."""
    import httpx

    from reference_idp.config import load_config
    from xaa.actors import ActorCredential
    from xaa.adapters.actor_files import FileActorTokenProvider
    from xaa.adapters.httpx_login import login_with_password
    from xaa.client import ClientCredentials

    demo = load_config().demo
    spire = SigningKey.from_jwk(demo["spire_private_jwk"])
    platform = SigningKey.from_jwk(demo["agents_private_jwk"])
    credentials = ClientCredentials.private_key_jwt(
        "agent", SigningKey.from_jwk(demo["agent_private_jwk"])
    )
    api = chat_url.rstrip("/") + "/api"
    print("== Actors: alice -> agent triage (JWT-SVID) -> sub-agent summarizer (access token)")
    with httpx.Client(timeout=10.0) as http, tempfile.TemporaryDirectory() as tmp:
        session = login_with_password(http, idp_url, credentials, "alice", "alice", AGENT_REDIRECT)
        print("alice signed in at the IdP through the agent client")
        svid_file = Path(tmp) / "svid.jwt"
        svid_file.write_text(mint_jwt_svid(spire, TRIAGE, idp_url))
        print(f"hop 1: {TRIAGE} presents its JWT-SVID ({svid_file.name}, refreshed by its agent)")
        triage_act = _hop(
            http, idp_url, chat_url, api, session, credentials, FileActorTokenProvider(svid_file)
        )

        class _PlatformToken:
            def actor_credential(self) -> ActorCredential:
                token = mint_platform_token(platform, SUMMARIZER, triage_act, idp_url, "agent")
                return ActorCredential(token, spec.TOKEN_TYPE_ACCESS_TOKEN)

        print(f"hop 2: {SUMMARIZER} presents the platform's access token (act: triage)")
        _hop(http, idp_url, chat_url, api, session, credentials, _PlatformToken())


def _hop(
    http: Any,
    idp_url: str,
    chat_url: str,
    api: str,
    session: Any,
    credentials: Any,
    actors: Any,
) -> Actor:
    """One exchange with ``actors`` as the client's actor-token provider, then one chat post."""
    from xaa.adapters.httpx_client import XAAClient
    from xaa.client import ClientConfig, ClientCredentials, IdpConfig

    as_credentials = ClientCredentials.secret_post(*CHAT_CLIENT)
    config = ClientConfig(
        IdpConfig(idp_url, credentials), {chat_url: as_credentials}, actor_tokens=actors
    )
    client = XAAClient(config, session=session, http=http)
    jag = client.get_id_jag(chat_url, api, "chat.read chat.write")
    assert jag.claims.act is not None
    print(f"  ID-JAG act:       {json.dumps(jag.claims.act.model_dump(exclude_none=True))}")
    redeemed = http.post(
        chat_url.rstrip("/") + "/token",
        data={
            "grant_type": spec.GRANT_JWT_BEARER,
            "assertion": jag.token,
            "client_id": CHAT_CLIENT[0],
            "client_secret": CHAT_CLIENT[1],
        },
    )
    redeemed.raise_for_status()
    access = redeemed.json()["access_token"]
    print(f"  access token act: {json.dumps(_claims(access).get('act'))}")
    posted = http.post(
        api + "/channels/general/messages",
        json={"text": "Summary of today's incidents"},
        headers={"authorization": f"Bearer {access}"},
    )
    posted.raise_for_status()
    print(f"  chat message by:  {posted.json()['attribution']}")
    return jag.claims.act
