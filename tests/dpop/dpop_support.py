"""Shared pieces of the DPoP tests: keys, a clock, and a forger that signs exactly."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from xaa import OAuthError, SigningKey
from xaa.dpop import DEFAULT_LEEWAY, DEFAULT_MAX_AGE, DpopKey, verify_proof
from xaa.stores import MemoryReplayStore

NOW = 1_800_000_000
HTM = "POST"
HTU = "https://as.example/token"
DROP = object()

ES_KEY = DpopKey.generate("ES256")
ED_KEY = DpopKey.generate("EdDSA")
OTHER_KEY = DpopKey.generate("ES256")

__all__ = ["DEFAULT_LEEWAY", "DEFAULT_MAX_AGE", "DROP", "HTM", "HTU", "NOW", "b64", "forge"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signer(key: DpopKey) -> SigningKey:
    return SigningKey.from_jwk(key.private_jwk())


def valid_header(key: DpopKey) -> dict[str, Any]:
    return {"typ": "dpop+jwt", "alg": key.alg, "jwk": key.public_jwk()}


def valid_payload(**extra: Any) -> dict[str, Any]:
    return {"jti": "jti-1", "htm": HTM, "htu": HTU, "iat": NOW, **extra}


def forge(
    key: DpopKey = ES_KEY,
    *,
    header: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    sign_with: DpopKey | None = None,
) -> str:
    """The valid proof with ``header``/``payload`` members overridden (DROP removes one),
    re-signed with the right key (or ``sign_with``) so only the injected defect differs."""
    h = valid_header(key)
    p = valid_payload()
    for base, changes in ((h, header or {}), (p, payload or {})):
        for name, value in changes.items():
            if value is DROP:
                base.pop(name, None)
            else:
                base[name] = value
    hs = b64(json.dumps(h).encode())
    ps = b64(json.dumps(p).encode())
    sig = signer(sign_with or key).sign(f"{hs}.{ps}".encode())
    return f"{hs}.{ps}.{b64(sig)}"


def rejected(proof: object, *, code: str = "invalid_dpop_proof", **kwargs: Any) -> OAuthError:
    """Assert ``proof`` is refused with ``code`` and burns no jti; return the error."""
    store = MemoryReplayStore()
    args: dict[str, Any] = {"htm": HTM, "htu": HTU, "replay": store, "now": NOW}
    args.update(kwargs)
    with pytest.raises(OAuthError) as info:
        verify_proof(proof, **args)  # type: ignore[arg-type]
    exc = info.value
    assert exc.error == code
    response = exc.to_response()
    assert response.headers["cache-control"] == "no-store"
    assert response.status < 500
    if isinstance(proof, str) and proof:
        assert proof.encode() not in response.body
    if store is args["replay"]:
        assert store._entries == {}
    return exc
