"""An IdP token exchange endpoint with in-memory stores, and a happy-path request builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from xaa import (
    IdTokenClaims,
    KeyRing,
    MemoryAuditSink,
    RegisteredClient,
    SigningKey,
    basic_header,
    encode_form,
    issue_id_token,
    spec,
)
from xaa.idp import (
    ExchangePolicy,
    RefreshGrant,
    SubjectProfile,
    TokenExchangeEndpoint,
    hash_refresh_token,
)
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000
IDP = "https://idp.example"
AS = "https://chat.example"
ALIAS = "urn:xaa:test:chat"
API = "https://chat.example/api"

POLICY: dict[str, Any] = {
    "resource_servers": [
        {
            "issuer": AS,
            "aliases": [ALIAS],
            "resources": [API, "https://chat.example/admin"],
            "claims": ["email"],
        },
        {
            "issuer": "https://strict.example",
            "resources": ["https://strict.example/api"],
            "acr_values": ["urn:acr:mfa"],
            "required_amr": ["mfa"],
            "max_age": 600,
        },
        {"issuer": "https://other.example", "resources": ["https://other.example/api"]},
    ],
    "grants": [
        {
            "client": "wiki",
            "audience": AS,
            "client_id": "wiki-at-chat",
            "resources": [API],
            "scopes": [
                {"groups": ["engineering"], "scopes": ["chat.read", "chat.history", "chat.write"]},
                {"scopes": ["chat.read"]},
            ],
            "authorization_details_types": ["chat_read"],
        },
        {
            "client": "wiki",
            "audience": "https://strict.example",
            "client_id": "wiki-at-strict",
            "scopes": [{"scopes": ["s.read"]}],
        },
        {
            "client": "agent",
            "audience": AS,
            "client_id": "agent-at-chat",
            "scopes": [{"scopes": ["chat.read"]}],
            "on_excess": "reject",
        },
        {
            "client": "poster",
            "audience": AS,
            "client_id": "poster-at-chat",
            "scopes": [{"scopes": ["chat.read"]}],
        },
    ],
}

USERS = {
    "alice": SubjectProfile(email="alice@acme.example", groups=frozenset({"engineering"})),
    "bob": SubjectProfile(email="bob@acme.example", groups=frozenset({"sales"})),
}


class Clients:
    def __init__(self, clients: list[RegisteredClient]) -> None:
        self.by_id = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self.by_id.get(client_id)


class Directory:
    def __init__(self) -> None:
        self.users = dict(USERS)

    def find_subject(self, sub: str) -> SubjectProfile | None:
        return self.users.get(sub)


class RefreshTokens:
    def __init__(self) -> None:
        self.grants: dict[str, RefreshGrant] = {}
        self.revoked_families: list[str] = []

    def add(self, token: str, grant: RefreshGrant) -> str:
        self.grants[hash_refresh_token(token)] = grant
        return token

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        return self.grants.get(hash_refresh_token(token))

    def revoke_refresh_family(self, token: str, now: float) -> None:
        del now
        self.revoked_families.append(hash_refresh_token(token))


@dataclass
class Idp:
    endpoint: TokenExchangeEndpoint
    key: SigningKey
    agent_key: SigningKey
    audit: MemoryAuditSink
    clients: Clients
    directory: Directory
    refresh: RefreshTokens
    replay: MemoryReplayStore = field(default_factory=MemoryReplayStore)

    def id_token(self, key: SigningKey | None = None, **changes: Any) -> str:
        claims: dict[str, Any] = {
            "iss": IDP,
            "sub": "alice",
            "aud": "wiki",
            "iat": NOW - 60,
            "exp": NOW + 3000,
            "auth_time": NOW - 120,
            "acr": "urn:acr:pwd",
            "amr": ["pwd"],
            "email": "alice@acme.example",
            "nonce": "n-1",
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return issue_id_token(IdTokenClaims.model_validate(claims), key or self.key)

    def form(self, **changes: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
            "audience": AS,
            "resource": API,
            "scope": "chat.read chat.history",
            "subject_token": self.id_token(),
            "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
        }
        params.update(changes)
        return params

    def post(
        self,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        client: str = "wiki",
        now: float = NOW,
    ) -> Any:
        params = dict(self.form() if params is None else params)
        hdrs = dict(headers or {})
        if client == "wiki":
            hdrs.setdefault("authorization", basic_header("wiki", "wiki-secret"))
        elif client == "poster":
            params.update(client_id="poster", client_secret="poster-secret")
        return self.endpoint.handle(hdrs, encode_form(params), now=now)


@pytest.fixture
def idp() -> Idp:
    key = SigningKey.generate("ES256", kid="idp-1")
    agent_key = SigningKey.generate("ES256", kid="agent-1")
    clients = Clients(
        [
            RegisteredClient.with_secret("wiki", "wiki-secret"),
            RegisteredClient.with_secret("poster", "poster-secret", spec.AUTH_CLIENT_SECRET_POST),
            RegisteredClient.with_jwks("agent", {"keys": [agent_key.public_jwk()]}),
        ]
    )
    audit = MemoryAuditSink()
    directory = Directory()
    refresh = RefreshTokens()
    replay = MemoryReplayStore()
    endpoint = TokenExchangeEndpoint(
        issuer=IDP,
        keys=KeyRing.single(key),
        clients=clients,
        replay=replay,
        policy=ExchangePolicy.from_config(POLICY),
        audit=audit,
        directory=directory,
        refresh_tokens=refresh,
    )
    return Idp(endpoint, key, agent_key, audit, clients, directory, refresh, replay)
