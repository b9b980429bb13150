"""The jwt-bearer token endpoint with DPoP on one uvicorn worker, against a same-run ceiling.

Figures:
- ``jwt_bearer_dpop_rps``: redemptions per second, every request a fresh ID-JAG bound to
  the client's key (``cnf.jkt``) with a fresh ES256 proof for the token endpoint (draft
  §8.6.2 case 1); the memory replay store holds both the ID-JAG and the proof ``jti``.
- ``jwt_bearer_dpop_ceiling_rps``: ``1 / (1/empty_rps + 2*verify_s + sign_s)`` (one ID-JAG
  verification, one proof verification, one access token signature), where ``empty_rps``
  is an empty Starlette handler on the same server and load generator, measured in the
  same run, and ``verify_s``/``sign_s`` are measured in-process.
- ``jwt_bearer_dpop_ratio`` (target >= 0.7).
- ``dpop_proof_verify_us``: one proof verification in-process (for reference).

The server runs as ``python -m bench.bench_dpop serve ...`` (uvicorn, one worker,
127.0.0.1); the empty handler, the load generator and the interleaved best-of rounds are
those of :mod:`bench.bench_resource`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from xaa import (
    AccessTokenClaims,
    IdJagClaims,
    JwkSet,
    SigningKey,
    issue_access_token,
    issue_id_jag,
    verify_id_jag,
)
from xaa.dpop import DpopKey, make_proof, verify_proof
from xaa.stores import MemoryReplayStore

from .bench_resource import (
    CLIENT,
    IDP,
    ISSUER,
    POOL,
    RESOURCE,
    TOKEN_URL,
    _best_rates,
    _Clients,
    _DiscardAudit,
    _requests,
    _Server,
    build_app,
)
from .common import Figure, per_call_us


def build_dpop_app(idp_jwk: dict[str, Any]) -> Any:
    """The jwt-bearer token endpoint with a DPoP proof verifier (memory replay store)."""
    from starlette.applications import Starlette

    from xaa.adapters.starlette_resource import JwksFetcher, token_route
    from xaa.dpop_server import DpopVerifier
    from xaa.resource import (
        AccountResolver,
        ClientGrant,
        JwtBearerEndpoint,
        MemoryAccountStore,
        ServedResource,
        StaticGrantPolicy,
        TrustedIssuer,
        TrustRegistry,
    )

    replay = MemoryReplayStore()
    endpoint = JwtBearerEndpoint(
        issuer=ISSUER,
        token_endpoint=TOKEN_URL,
        signing_key=SigningKey.generate("ES256", kid="as"),
        clients=_Clients(),
        grants=StaticGrantPolicy([ClientGrant(CLIENT)]),
        trust=TrustRegistry([TrustedIssuer(IDP, jwks={"keys": [idp_jwk]})]),
        replay=replay,
        subjects=AccountResolver(MemoryAccountStore()),
        resources=[ServedResource(RESOURCE, frozenset({"chat.read", "chat.write"}))],
        audit=_DiscardAudit(),
        dpop=DpopVerifier(replay),
    )
    return Starlette(routes=[token_route(endpoint, JwksFetcher())])


def serve_main(argv: list[str]) -> None:
    """``python -m bench.bench_dpop serve --port P --mode empty|dpop``."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["empty", "dpop"], required=True)
    args = parser.parse_args(argv)
    idp_jwk = json.loads(os.environ["XAA_BENCH_IDP_JWK"])
    app = build_app("empty", idp_jwk, None) if args.mode == "empty" else build_dpop_app(idp_jwk)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="error", access_log=False)


def _costs(idp_key: SigningKey, key: DpopKey) -> tuple[float, float, float]:
    """Seconds per ID-JAG verification, proof verification and access token signature."""
    jag = issue_id_jag(
        IdJagClaims.new(
            issuer=IDP,
            subject="alice",
            audience=ISSUER,
            client_id=CLIENT,
            scope="chat.read",
            cnf={"jkt": key.jkt},
        ),
        idp_key,
    )
    keys = JwkSet([idp_key.verification_key()])
    verify_s = (
        per_call_us(
            lambda: verify_id_jag(
                jag, keys=keys, issuer=IDP, audience=ISSUER, client_id=CLIENT, allow_cnf=True
            )
        )
        / 1e6
    )
    proofs = iter([make_proof(key, "POST", TOKEN_URL) for _ in range(200_000)])
    replay = MemoryReplayStore()
    proof_s = (
        per_call_us(lambda: verify_proof(next(proofs), htm="POST", htu=TOKEN_URL, replay=replay))
        / 1e6
    )
    now = int(time.time())
    claims = AccessTokenClaims.model_validate(
        {
            "iss": ISSUER,
            "sub": "u",
            "aud": RESOURCE,
            "client_id": CLIENT,
            "jti": "j",
            "iat": now,
            "exp": now + 900,
            "cnf": {"jkt": key.jkt},
        }
    )
    as_key = SigningKey.generate("ES256", kid="as")
    sign_s = per_call_us(lambda: issue_access_token(claims, as_key)) / 1e6
    return verify_s, proof_s, sign_s


def run() -> list[Figure]:
    """Measure every figure of this module."""
    idp_key = SigningKey.generate("ES256", kid="bench-idp")
    key = DpopKey.generate()
    verify_s, proof_s, sign_s = _costs(idp_key, key)
    servers = {
        name: _Server(name, idp_key, module="bench.bench_dpop") for name in ("empty", "dpop")
    }
    try:
        # Built right before the load: every proof must still be within its iat window.
        pools = {name: _requests(idp_key, POOL, dpop=key) for name in servers}
        rates = _best_rates(servers, pools)  # type: ignore[arg-type]
    finally:
        for server in servers.values():
            server.stop()
    ceiling = 1 / (1 / rates["empty"] + 2 * verify_s + sign_s)
    return [
        Figure("jwt_bearer_dpop_empty_handler_rps", rates["empty"], "req/s"),
        Figure("jwt_bearer_dpop_verify_us", verify_s * 1e6, "us"),
        Figure("dpop_proof_verify_us", proof_s * 1e6, "us"),
        Figure("jwt_bearer_dpop_sign_us", sign_s * 1e6, "us"),
        Figure("jwt_bearer_dpop_ceiling_rps", ceiling, "req/s"),
        Figure("jwt_bearer_dpop_rps", rates["dpop"], "req/s"),
        Figure("jwt_bearer_dpop_ratio", rates["dpop"] / ceiling, "x"),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve_main(sys.argv[2:])
    else:
        for figure in run():
            print(f"{figure.name}: {figure.value:.4g} {figure.unit}")
