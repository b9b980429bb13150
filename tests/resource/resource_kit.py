"""A resource AS wired for tests: one trusted IdP, two clients, one served resource."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.forge import DROP, b64, compact
from xaa import (
    HttpResponse,
    MemoryAuditSink,
    RegisteredClient,
    ReplayStore,
    SigningKey,
    basic_header,
    encode_form,
    spec,
)
from xaa.resource import (
    AccountResolver,
    ClientGrant,
    JitPolicy,
    JwtBearerEndpoint,
    MemoryAccountStore,
    ServedResource,
    StaticGrantPolicy,
    TrustedIssuer,
    TrustRegistry,
)
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000
IDP = "https://idp.example"
AS = "https://chat.example"
TOKEN_URL = AS + "/token"
RESOURCE = "https://chat.example/api"
CLIENT, SECRET = "wiki-at-chat", "wiki-chat-secret"
OTHER, OTHER_SECRET = "agent-at-chat", "agent-chat-secret"
NO_GRANT, NO_GRANT_SECRET = "code-only", "code-only-secret"
SCOPES = frozenset({"chat.read", "chat.history", "chat.write"})

__all__ = ["DROP", "b64", "compact"]


class DictClients:
    def __init__(self, *clients: RegisteredClient) -> None:
        self._clients = {c.client_id: c for c in clients}

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)


@dataclass
class Kit:
    idp_key: SigningKey
    as_key: SigningKey
    endpoint: JwtBearerEndpoint
    audit: MemoryAuditSink
    accounts: MemoryAccountStore
    extra_clients: dict[str, str] = field(default_factory=dict)

    def claims(self, **changes: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iss": IDP,
            "sub": "U019488227",
            "aud": AS,
            "client_id": CLIENT,
            "jti": "jti-" + b64(json.dumps(changes, sort_keys=True, default=str).encode())[:40],
            "iat": NOW - 10,
            "exp": NOW + 290,
            "scope": "chat.read chat.history",
            "resource": RESOURCE,
            "email": "alice@example.com",
        }
        for name, value in changes.items():
            if value is DROP:
                out.pop(name, None)
            else:
                out[name] = value
        return out

    def jag(
        self, header: dict[str, Any] | None = None, key: SigningKey | None = None, **changes: Any
    ) -> str:
        signer = key or self.idp_key
        base = {"typ": "oauth-id-jag+jwt", "alg": signer.alg, "kid": signer.kid}
        for name, value in (header or {}).items():
            if value is DROP:
                base.pop(name, None)
            else:
                base[name] = value
        return compact(base, self.claims(**changes), signer)

    def request(
        self,
        assertion: str | None,
        *,
        auth: str = "basic",
        client: str = CLIENT,
        secret: str = SECRET,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], bytes]:
        params: dict[str, Any] = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion}
        out_headers = dict(headers or {})
        if auth == "basic":
            out_headers["authorization"] = basic_header(client, secret)
        elif auth == "post":
            params.update(client_id=client, client_secret=secret)
        params.update(form or {})
        return out_headers, encode_form(params)

    def post(self, assertion: str | None, *, now: float = NOW, **kwargs: Any) -> HttpResponse:
        headers, body = self.request(assertion, **kwargs)
        return self.endpoint.handle(headers, body, now=now)


def make_kit(
    replay: ReplayStore | None = None,
    *,
    jit: JitPolicy | None = None,
    extra_jwks: list[dict[str, Any]] | None = None,
    algorithms: frozenset[str] = frozenset({"ES256"}),
    **endpoint_kwargs: Any,
) -> Kit:
    idp_key = SigningKey.generate("ES256", kid="idp-1")
    as_key = SigningKey.generate("ES256", kid="as-1")
    jwks = {"keys": [idp_key.public_jwk(), *(extra_jwks or [])]}
    audit = MemoryAuditSink()
    accounts = MemoryAccountStore()
    endpoint = JwtBearerEndpoint(
        issuer=AS,
        token_endpoint=TOKEN_URL,
        signing_key=as_key,
        clients=DictClients(
            RegisteredClient.with_secret(CLIENT, SECRET),
            RegisteredClient.with_secret(OTHER, OTHER_SECRET),
            RegisteredClient.with_secret(NO_GRANT, NO_GRANT_SECRET),
            RegisteredClient.with_secret("poster", "poster-secret", spec.AUTH_CLIENT_SECRET_POST),
        ),
        grants=StaticGrantPolicy(
            [
                ClientGrant(CLIENT, detail_types=frozenset({"chat_channel"})),
                ClientGrant(OTHER, scopes=frozenset({"chat.read"})),
                ClientGrant("poster"),
                ClientGrant(NO_GRANT, grant_types=frozenset({spec.GRANT_AUTHORIZATION_CODE})),
            ]
        ),
        trust=TrustRegistry([TrustedIssuer(IDP, algorithms=algorithms, jwks=jwks)]),
        replay=replay or MemoryReplayStore(),
        subjects=AccountResolver(accounts, jit),
        resources=[ServedResource(RESOURCE, SCOPES)],
        audit=audit,
        **endpoint_kwargs,
    )
    return Kit(idp_key, as_key, endpoint, audit, accounts)


def body(response: HttpResponse) -> dict[str, Any]:
    data = json.loads(response.body)
    assert isinstance(data, dict)
    return data


def assert_rejected(response: HttpResponse, status: int, error: str, *secrets: str) -> None:
    """An RFC 6749 error: status, code, no-store, no token, nothing echoed."""
    data = body(response)
    assert (response.status, data["error"]) == (status, error), data
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in data and "refresh_token" not in data
    for secret in secrets:
        if secret:
            assert secret not in response.body.decode()
