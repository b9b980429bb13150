"""A scripted IdP, resource AS and resource behind a MockTransport, for client tests."""

from __future__ import annotations

import base64
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import httpx

from xaa import SigningKey, spec
from xaa._forms import basic_credentials
from xaa._keys import b64url
from xaa.client import ClientConfig, ClientCredentials, IdentitySession, IdpConfig

NOW = 1_800_000_000.0
IDP = "https://idp.example"
AS = "https://as.example"
RESOURCE = "https://api.example/api"
IDP_CLIENT = "agent"
AS_CLIENT = "agent-at-chat"
IDP_KEY = SigningKey.generate("ES256", kid="idp-1")


class Clock:
    """An injectable clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def jwt(header: dict[str, Any], claims: dict[str, Any], key: SigningKey = IDP_KEY) -> str:
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(claims).encode())
    return f"{h}.{p}.{b64url(key.sign(f'{h}.{p}'.encode()))}"


def id_token(now: float, lifetime: int = 3600, sub: str = "alice") -> str:
    claims = {
        "iss": IDP,
        "sub": sub,
        "aud": IDP_CLIENT,
        "iat": int(now),
        "exp": int(now) + lifetime,
    }
    return jwt({"alg": "ES256", "kid": "idp-1", "typ": "JWT"}, claims)


def id_jag_claims(now: float, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": IDP,
        "sub": "alice",
        "aud": AS,
        "client_id": AS_CLIENT,
        "jti": secrets.token_urlsafe(8),
        "iat": int(now),
        "exp": int(now) + 300,
        "resource": RESOURCE,
        "scope": "chat.read",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def id_jag(now: float, header: dict[str, Any] | None = None, **changes: Any) -> str:
    head = {"alg": "ES256", "kid": "idp-1", "typ": "oauth-id-jag+jwt", **(header or {})}
    return jwt(head, id_jag_claims(now, **changes))


def config(clock: Clock, **options: Any) -> ClientConfig:
    idp_options = {k: options.pop(k) for k in ("refresh_token_as_subject",) if k in options}
    return ClientConfig(
        idp=IdpConfig(
            IDP,
            ClientCredentials.secret_basic(IDP_CLIENT, "agent-secret"),
            redirect_uri="http://127.0.0.1:8000/cb",
            **idp_options,
        ),
        authorization_servers={AS: ClientCredentials.secret_post(AS_CLIENT, "agent-chat-secret")},
        clock=clock,
        **options,
    )


@dataclass
class World:
    """The scripted servers; ``calls`` counts requests per (host, path)."""

    clock: Clock
    module: ModuleType = httpx
    calls: Counter[str] = field(default_factory=Counter)
    forms: list[dict[str, str]] = field(default_factory=list)
    idp_error: dict[str, Any] | None = None
    idp_status: int = 400
    as_error: dict[str, Any] | None = None
    refresh_error: bool = False
    exchange_body: dict[str, Any] = field(default_factory=dict)
    at_lifetime: int = 300
    issued: list[str] = field(default_factory=list)
    rs_script: list[tuple[int, str | None]] = field(default_factory=list)
    seen_authorization: list[str] = field(default_factory=list)
    idp_meta: dict[str, Any] = field(default_factory=dict)
    as_meta: dict[str, Any] = field(default_factory=dict)
    idp_grants: frozenset[str] | None = None  # the IdP narrows every request to these
    as_grants: frozenset[str] | None = None  # the AS narrows every redemption to these

    def transport(self) -> Any:
        return self.module.MockTransport(self.handle)

    def _json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Any:
        return self.module.Response(status, json=body, headers=headers or {})

    def handle(self, request: Any) -> Any:
        url = str(request.url)
        self.calls[url.split("?")[0]] += 1
        path = request.url.path
        host = f"{request.url.scheme}://{request.url.host}"
        if path == "/.well-known/oauth-protected-resource/api" and host == "https://api.example":
            return self._json(200, {"resource": RESOURCE, "authorization_servers": [AS]})
        if path == spec.WELL_KNOWN_OAUTH_AS and host == IDP:
            meta = {
                "issuer": IDP,
                "token_endpoint": IDP + "/token",
                "authorization_endpoint": IDP + "/authorize",
                "identity_chaining_requested_token_types_supported": [spec.TOKEN_TYPE_ID_JAG],
                **self.idp_meta,
            }
            return self._json(200, meta)
        if path == spec.WELL_KNOWN_OAUTH_AS and host == AS:
            meta = {
                "issuer": AS,
                "token_endpoint": AS + "/token",
                "authorization_endpoint": AS + "/authorize",
                "response_types_supported": ["code"],
                "grant_types_supported": [spec.GRANT_JWT_BEARER],
                "authorization_grant_profiles_supported": [spec.GRANT_PROFILE_ID_JAG],
                **self.as_meta,
            }
            return self._json(200, meta)
        if url == IDP + "/token":
            return self._idp_token(request)
        if url == AS + "/token":
            return self._as_token(request)
        if host == "https://api.example" and path == "/api/data":
            self.seen_authorization.append(request.headers.get("authorization", ""))
            status, challenge = self.rs_script.pop(0) if self.rs_script else (200, None)
            headers = {"www-authenticate": challenge} if challenge else {}
            return self._json(status, {"ok": status == 200}, headers)
        return self._json(404, {"error": "not_found"})

    def _form(self, request: Any) -> dict[str, str]:
        form = dict(parse_qsl(request.content.decode()))
        self.forms.append(form)
        return form

    def _idp_token(self, request: Any) -> Any:
        form = self._form(request)
        assert basic_credentials(request.headers["authorization"])[0] == IDP_CLIENT
        now = self.clock()
        if form["grant_type"] == spec.GRANT_REFRESH_TOKEN:
            if self.refresh_error:
                return self._json(400, {"error": "invalid_grant"})
            return self._json(
                200,
                {
                    "access_token": "idp-at",
                    "token_type": "Bearer",
                    "id_token": id_token(now),
                    "refresh_token": "rt-2",
                },
            )
        if self.idp_error is not None:
            return self._json(self.idp_status, self.idp_error)
        assert form["grant_type"] == spec.GRANT_TOKEN_EXCHANGE
        scope = form.get("scope")
        if self.idp_grants is not None:  # draft §4.3.3: the IdP grants a subset
            scope = " ".join(sorted(set((scope or "").split()) & self.idp_grants))
        body = {
            "access_token": id_jag(now, aud=form["audience"], scope=scope),
            "issued_token_type": spec.TOKEN_TYPE_ID_JAG,
            "token_type": "N_A",
            "expires_in": 300,
            **({"scope": scope} if self.idp_grants is not None else {}),
            **self.exchange_body,
        }
        return self._json(200, body)

    def _as_token(self, request: Any) -> Any:
        form = self._form(request)
        if self.as_error is not None:
            return self._json(400, self.as_error)
        assert form["grant_type"] == spec.GRANT_JWT_BEARER
        assert form["client_id"] == AS_CLIENT
        payload = form["assertion"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        asked = set(form.get("scope", "").split())
        if asked - set(claims.get("scope", "").split()):  # draft §4.4.1, as the reference AS
            return self._json(400, {"error": "invalid_scope"})
        token = f"at-{len(self.issued)}"
        self.issued.append(token)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.at_lifetime,
        }
        if "scope" in form:
            body["scope"] = form["scope"]
        if self.as_grants is not None:
            body["scope"] = " ".join(sorted(asked & self.as_grants))
        return self._json(200, body)

    def count(self, url: str) -> int:
        return self.calls[url]

    def exchanges(self) -> int:
        return sum(1 for f in self.forms if f["grant_type"] == spec.GRANT_TOKEN_EXCHANGE)


def session(clock: Clock, *, lifetime: int = 3600, refresh: str | None = None) -> IdentitySession:
    return IdentitySession(id_token=id_token(clock(), lifetime), refresh_token=refresh)
