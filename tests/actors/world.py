"""The actor world of the tests: an IdP, a SPIRE trust domain, an agent token service."""

from __future__ import annotations

import json
from typing import Any

from tests.support.forge import DROP, compact
from xaa import OAuthError, SigningKey
from xaa.actors import (
    ActorIssuer,
    ActorTrust,
    ConfigActorPolicy,
    jwt_svid_keys,
)
from xaa.spec import TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT

NOW = 1_800_000_000
IDP = "https://idp.acme.example"
SPIRE = "https://spire.acme.example"
PARTNER_SPIRE = "https://spire.partner.example"
AGENTS = "https://agents.acme.example"
TD = "acme.example"
CLIENT = "agent-platform"
TRIAGE = "spiffe://acme.example/agent/triage"
SUMMARIZER = "spiffe://acme.example/agent/summarizer"
ROUTER = "spiffe://acme.example/agent/router"
PARTNER_AGENT = "spiffe://partner.example/agent/helper"

SPIRE_KEY = SigningKey.generate("ES256", kid="spire-1")
PARTNER_KEY = SigningKey.generate("ES256", kid="partner-1")
AGENTS_KEY = SigningKey.generate("ES256", kid="agents-1")
ATTACKER_KEY = SigningKey.generate("ES256", kid="spire-1")


def bundle(key: SigningKey) -> dict[str, Any]:
    """A SPIFFE bundle in JWKS form: one JWT-SVID key, one X.509 authority."""
    jwt_key = {k: v for k, v in key.public_jwk().items() if k != "alg"}
    x509 = SigningKey.generate("ES256", kid="x509").public_jwk()
    return {
        "keys": [{**jwt_key, "use": "jwt-svid"}, {**x509, "use": "x509-svid"}],
        "spiffe_refresh_hint": 300,
    }


TRUST = ActorTrust(
    [
        ActorIssuer(SPIRE, jwt_svid_keys(bundle(SPIRE_KEY)), TOKEN_TYPE_JWT, trust_domain=TD),
        ActorIssuer(
            PARTNER_SPIRE,
            jwt_svid_keys(bundle(PARTNER_KEY)),
            TOKEN_TYPE_JWT,
            trust_domain="partner.example",
        ),
        ActorIssuer(
            AGENTS,
            jwt_svid_keys(bundle(AGENTS_KEY)),
            TOKEN_TYPE_ACCESS_TOKEN,
            trust_domain=TD,
        ),
    ]
)

POLICY = ConfigActorPolicy.from_config(
    {
        "max_depth": 2,
        "rules": [
            {
                "actor": "spiffe://acme.example/agent/*",
                "clients": [CLIENT],
                "subjects": ["alice", "group:eng"],
                "scopes": ["chat.read", "chat.history"],
            },
            {
                "actor": PARTNER_AGENT,
                "clients": ["partner-app"],
                "subjects": ["*"],
            },
        ],
    }
)


def _apply(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, value in changes.items():
        if value is DROP:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def svid(header: dict[str, Any] | None = None, key: SigningKey = SPIRE_KEY, **claims: Any) -> str:
    """A valid JWT-SVID for the IdP, or one with exactly the defect given."""
    base_header = {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    base = {"iss": SPIRE, "sub": TRIAGE, "aud": [IDP], "iat": NOW - 10, "exp": NOW + 290}
    return compact(_apply(base_header, header or {}), _apply(base, claims), key)


def actor_access_token(
    header: dict[str, Any] | None = None, key: SigningKey = AGENTS_KEY, **claims: Any
) -> str:
    """A valid access-token actor token (summarizer, delegated by triage), or one defect."""
    base_header = {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}
    base = {
        "iss": AGENTS,
        "sub": SUMMARIZER,
        "aud": IDP,
        "client_id": CLIENT,
        "jti": "at-1",
        "iat": NOW - 10,
        "exp": NOW + 590,
        "act": {"sub": TRIAGE, "iss": SPIRE},
    }
    return compact(_apply(base_header, header or {}), _apply(base, claims), key)


def assert_rejected(exc: OAuthError, code: str, detail: str, token: str = "") -> None:
    """The exact error code and log detail; 400, no-store, and no token bytes echoed."""
    assert exc.error == code
    assert exc.status == 400
    assert detail in exc.detail
    response = exc.to_response()
    assert response.status == 400
    assert response.headers["cache-control"] == "no-store"
    body = json.loads(response.body)
    assert body["error"] == code
    if token:
        signature = token.rsplit(".", 1)[-1]
        assert signature not in response.body.decode()
        assert signature not in str(exc)
