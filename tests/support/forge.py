"""Fixtures for the core: an IdP key, a valid ID-JAG's parts, and a forger."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from xaa import JwkSet, SigningKey

NOW = 1_800_000_000
IDP = "https://idp.example"
AS = "https://as.example"
CLIENT = "wiki-at-chat"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], payload: dict[str, Any], key: SigningKey | None) -> str:
    """Sign exactly what is given (header included, alg untouched) with ``key``."""
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(payload).encode())
    sig = key.sign(f"{h}.{p}".encode()) if key else b"\x00" * 64
    return f"{h}.{p}.{b64(sig)}"


def valid_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": IDP,
        "sub": "U019488227",
        "aud": AS,
        "client_id": CLIENT,
        "jti": "9e43f81b64a33f20116179",
        "iat": NOW - 10,
        "exp": NOW + 290,
        "scope": "chat.read chat.history",
        "resource": "https://as.example/api",
    }
    for name, value in changes.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


DROP = object()


@pytest.fixture(scope="session")
def idp_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="idp-1")


@pytest.fixture(scope="session")
def idp_keys(idp_key: SigningKey) -> JwkSet:
    return JwkSet([idp_key.verification_key()])


Forge = Callable[..., str]


@pytest.fixture
def forge(idp_key: SigningKey) -> Forge:
    """A valid ID-JAG, or one with exactly the defect given, signed with the IdP key."""

    def make(
        header: dict[str, Any] | None = None, key: SigningKey | None = None, **claims: Any
    ) -> str:
        base_header = {"typ": "oauth-id-jag+jwt", "alg": "ES256", "kid": "idp-1"}
        for name, value in (header or {}).items():
            if value is DROP:
                base_header.pop(name, None)
            else:
                base_header[name] = value
        return compact(base_header, valid_claims(**claims), key or idp_key)

    return make
