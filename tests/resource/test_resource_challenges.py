"""The resource server's 401/403 challenges name every scheme it accepts.

RFC 9110 §11.6.1: a 401 carries at least one challenge applicable to the
resource; RFC 9449 §7.1: the ``DPoP`` challenge carries ``algs``; §7.2: a
resource accepting both schemes offers both. The error goes on the scheme the
client used (or on the only accepted one), first; every challenge carries
``resource_metadata`` (RFC 9728 §5.1). Checked through the Starlette adapter.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from xaa import AccessTokenClaims, DpopVerifier, JwkSet, SigningKey, issue_access_token
from xaa.adapters.starlette import requires
from xaa.client import parse_www_authenticate
from xaa.dpop import DpopKey, dpop_nonce_challenge, make_proof
from xaa.resource import ResourceServer
from xaa.stores import MemoryReplayStore

ORIGIN = "https://chat.example"
RESOURCE = ORIGIN + "/api"
META = ORIGIN + "/.well-known/oauth-protected-resource/api"
KEY = SigningKey.generate("ES256", kid="as-1")
HOLDER = DpopKey.generate()
VERIFIER = DpopVerifier(MemoryReplayStore())
ALGS = " ".join(VERIFIER.algs)
RM = f'resource_metadata="{META}"'
BEARER = f"Bearer {RM}"
DPOP = f'DPoP {RM}, algs="{ALGS}"'
INVALID = 'error="invalid_token", error_description="The access token is invalid."'
SCOPE = (
    'error="insufficient_scope", '
    'error_description="The access token does not grant the required scope.", '
    'scope="chat.write"'
)


def _token(bound: bool) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ORIGIN, "sub": "u-1", "aud": RESOURCE, "client_id": "wiki-at-chat",
        "jti": f"at-{bound}", "iat": now, "exp": now + 600, "scope": "chat.read",
    }  # fmt: skip
    if bound:
        claims["cnf"] = {"jkt": HOLDER.jkt}
    return issue_access_token(AccessTokenClaims.model_validate(claims), KEY)


def _app(mode: str) -> Starlette:
    rs = ResourceServer(
        RESOURCE,
        ORIGIN,
        JwkSet([KEY.verification_key()]),
        META,
        dpop=None if mode == "bearer" else VERIFIER,
        require_dpop=mode == "dpop-required",
    )

    @requires(rs, "chat.write")
    async def write(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/api/write", write)])


def _dpop(token: str) -> dict[str, str]:
    proof = make_proof(HOLDER, "GET", ORIGIN + "/api/write", access_token=token)
    return {"authorization": f"DPoP {token}", "dpop": proof}


EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    # no token: every accepted scheme, no error (RFC 6750 §3.1)
    ("bearer", "none"): (401, BEARER),
    ("bearer", "dpop"): (401, BEARER),  # DPoP not served here: no usable credential
    ("dpop-accepted", "none"): (401, f"{BEARER}, {DPOP}"),
    ("dpop-required", "none"): (401, DPOP),
    # a refused Bearer token: the error on Bearer where Bearer is accepted, else on DPoP
    ("bearer", "bad-bearer"): (401, f"Bearer {INVALID}, {RM}"),
    ("dpop-accepted", "bad-bearer"): (401, f"Bearer {INVALID}, {RM}, {DPOP}"),
    ("dpop-required", "bad-bearer"): (401, f'DPoP {INVALID}, {RM}, algs="{ALGS}"'),
    # a valid unbound token sent as Bearer where DPoP is required
    ("dpop-required", "bearer"): (401, f'DPoP {INVALID}, {RM}, algs="{ALGS}"'),
    # a refused DPoP token: the error on DPoP
    ("dpop-accepted", "bad-dpop"): (401, f'DPoP {INVALID}, {RM}, algs="{ALGS}", {BEARER}'),
    ("dpop-required", "bad-dpop"): (401, f'DPoP {INVALID}, {RM}, algs="{ALGS}"'),
    # insufficient scope: on the scheme used
    ("bearer", "bearer"): (403, f"Bearer {SCOPE}, {RM}"),
    ("dpop-accepted", "bearer"): (403, f"Bearer {SCOPE}, {RM}, {DPOP}"),
    ("dpop-accepted", "dpop"): (403, f'DPoP {SCOPE}, {RM}, algs="{ALGS}", {BEARER}'),
    ("dpop-required", "dpop"): (403, f'DPoP {SCOPE}, {RM}, algs="{ALGS}"'),
}


def _headers(case: str) -> dict[str, str]:
    if case == "none":
        return {}
    if case == "bad-bearer":
        return {"authorization": "Bearer " + _token(False)[:-4] + "AAAA"}
    if case == "bearer":
        return {"authorization": "Bearer " + _token(False)}
    token = _token(True)
    if case == "bad-dpop":
        return _dpop(token[:-4] + "AAAA")
    return _dpop(token)


@pytest.mark.parametrize(("mode", "case"), list(EXPECTED), ids="-".join)
def test_challenges_offer_the_schemes_the_resource_accepts(mode: str, case: str) -> None:
    with TestClient(_app(mode), base_url=ORIGIN) as client:
        response = client.get("/api/write", headers=_headers(case))
    assert (response.status_code, response.headers["www-authenticate"]) == EXPECTED[(mode, case)]
    assert response.headers["cache-control"] == "no-store"
    # xaa's client finds the metadata URL and the error in every one of them.
    params = parse_www_authenticate(response.headers["www-authenticate"])
    assert params["resource_metadata"] == META
    if "error=" in response.headers["www-authenticate"]:
        assert params["error"] == response.json()["error"]


def test_a_dpop_only_resource_never_offers_bearer() -> None:
    with TestClient(_app("dpop-required"), base_url=ORIGIN) as client:
        for case in ("none", "bad-bearer", "bearer", "bad-dpop", "dpop"):
            challenge = client.get("/api/write", headers=_headers(case)).headers["www-authenticate"]
            assert "Bearer" not in challenge and challenge.startswith("DPoP ")


def test_combined_challenge_still_carries_a_dpop_nonce_request() -> None:
    headers = {
        "dpop-nonce": "n-1",
        "www-authenticate": f'DPoP error="use_dpop_nonce", {RM}, algs="{ALGS}", {BEARER}',
    }
    assert dpop_nonce_challenge(401, headers, b"") == "n-1"


def test_no_token_body_is_generic_invalid_token_json_with_no_store() -> None:
    """docs/resource.md: no usable token is a challenge without an error code, and a body
    that is still RFC 6749 JSON with ``no-store``."""
    with TestClient(_app("bearer"), base_url=ORIGIN) as http:
        answer = http.get("/api/write")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == BEARER
    assert answer.json() == {
        "error": "invalid_token",
        "error_description": "An access token is required.",
    }
    assert answer.headers["cache-control"] == "no-store"
