"""The reference IdP and chat app on loopback with DPoP, and raw requests for each hop."""

from __future__ import annotations

import base64
import contextlib
import json
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port, serve
from xaa import InvalidRequest, SigningKey, parse_compact, spec
from xaa.adapters.httpx_login import login_with_password
from xaa.client import ClientCredentials
from xaa.dpop import DpopKey, make_proof

DEMO_AS = "http://127.0.0.1:9500"
DEMO_IDP = "http://127.0.0.1:9400"
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
WIKI = ClientCredentials.secret_basic("wiki", "wiki-secret")
WIKI_AT_CHAT = ("wiki-at-chat", "wiki-chat-secret")
SCOPE = "chat.read chat.history"
DROP = object()


@dataclass(frozen=True)
class Stack:
    """Base URLs of the running servers and alice's ID token at the IdP."""

    idp: str
    chat: str
    id_token: str

    @property
    def api(self) -> str:
        return self.chat + "/api"

    @property
    def idp_token(self) -> str:
        return self.idp + "/token"

    @property
    def as_token(self) -> str:
        return self.chat + "/token"


@contextlib.contextmanager
def dpop_stack(
    tmp_path: Path,
    *,
    replay: str = "memory",
    nonces: bool = False,
    required: bool = False,
    idp_dpop: bool = True,
    wrap_idp: Callable[[Any], Any] = lambda app: app,
    wrap_chat: Callable[[Any], Any] = lambda app: app,
) -> Iterator[Stack]:
    """Both reference apps with DPoP on, each configured for the other; alice signed in."""
    from reference_idp.app import create_app as create_idp
    from reference_idp.config import DpopConfig, IdpConfig, demo_config_text
    from reference_idp.store import Store
    from reference_resource.app import create_app as create_chat
    from reference_resource.settings import Settings

    idp_port, chat_port = free_port(), free_port()
    idp, chat = f"http://127.0.0.1:{idp_port}", f"http://127.0.0.1:{chat_port}"
    text = demo_config_text().replace(DEMO_AS, chat).replace(DEMO_IDP, idp)
    config = IdpConfig.model_validate(tomllib.loads(text))
    config = config.model_copy(update={"dpop": DpopConfig(enabled=idp_dpop, nonces=nonces)})
    settings = replace(
        Settings.make(port=chat_port, db=str(tmp_path / "chat.db"), replay=replay),
        trusted_idps=(idp,),
        idp_email_domains=((idp, "acme.example"),),
        dpop=True,
        dpop_required=required,
        dpop_nonces=nonces,
    )
    store = Store(tmp_path / "idp.db")
    try:
        with (
            serve(wrap_idp(create_idp(config, store)), port=idp_port),
            serve(wrap_chat(create_chat(settings)), port=chat_port),
        ):
            with httpx.Client() as http:
                session = login_with_password(http, idp, WIKI, "alice", "alice", WIKI_REDIRECT)
            assert session.id_token is not None
            yield Stack(idp, chat, session.id_token)
    finally:
        store.close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_proof(
    key: DpopKey,
    htm: str,
    htu: str,
    *,
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    sign_with: DpopKey | None = None,
) -> str:
    """A valid proof for ``htm htu`` now, with members overridden (DROP removes one),
    signed by ``key`` (or ``sign_with``) so only the injected defect differs."""
    import secrets

    h: dict[str, Any] = {"typ": "dpop+jwt", "alg": key.alg, "jwk": key.public_jwk()}
    p: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": htm,
        "htu": htu,
        "iat": int(time.time()),
    }
    for base, changes in ((h, header or {}), (p, payload or {})):
        for name, value in changes.items():
            if value is DROP:
                base.pop(name, None)
            else:
                base[name] = value
    hs, ps = b64(json.dumps(h).encode()), b64(json.dumps(p).encode())
    signer = SigningKey.from_jwk((sign_with or key).private_jwk())
    return f"{hs}.{ps}.{b64(signer.sign(f'{hs}.{ps}'.encode()))}"


def _dpop_headers(proof: str | list[str] | None) -> list[tuple[str, str]]:
    if proof is None:
        return []
    return [("DPoP", p) for p in ([proof] if isinstance(proof, str) else proof)]


def exchange(stack: Stack, proof: str | list[str] | None = None) -> httpx.Response:
    """Token exchange for an ID-JAG at the IdP as the wiki client (draft §4.3)."""
    form = {
        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
        "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
        "audience": stack.chat,
        "resource": stack.api,
        "scope": SCOPE,
        "subject_token": stack.id_token,
        "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
    }
    headers = [*_dpop_headers(proof)]
    return httpx.post(
        stack.idp_token, data=form, headers=headers, auth=("wiki", "wiki-secret"), timeout=10
    )


def id_jag(stack: Stack, key: DpopKey | None = None) -> str:
    """An ID-JAG, bound to ``key`` when given."""
    response = exchange(stack, make_proof(key, "POST", stack.idp_token) if key else None)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def redeem(
    stack: Stack,
    jag: str,
    proof: str | list[str] | None = None,
    *,
    grant_type: str = spec.GRANT_JWT_BEARER,
) -> httpx.Response:
    """Present the ID-JAG at the chat AS (draft §4.4) as wiki-at-chat."""
    return httpx.post(
        stack.as_token,
        data={"grant_type": grant_type, "assertion": jag},
        headers=_dpop_headers(proof),
        auth=WIKI_AT_CHAT,
        timeout=10,
    )


def dpop_token(stack: Stack, key: DpopKey) -> str:
    """A DPoP-bound access token for ``key`` (both legs with proofs)."""
    response = redeem(stack, id_jag(stack, key), make_proof(key, "POST", stack.as_token))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"
    token: str = response.json()["access_token"]
    return token


def call_api(
    stack: Stack,
    authorization: str | None,
    proof: str | list[str] | None = None,
    *,
    path: str = "/api/channels",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """``GET path`` at the chat API."""
    sent = [*_dpop_headers(proof), *(headers or {}).items()]
    if authorization is not None:
        sent.append(("Authorization", authorization))
    return httpx.get(stack.chat + path, headers=sent, timeout=10)


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, decoded without verification (the servers verified)."""
    return dict(parse_compact(token, error=InvalidRequest).payload)


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The exact error, ``no-store``, no token in the body."""
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == code
    assert "access_token" not in body
    return body
