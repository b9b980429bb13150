"""The jwt-bearer token endpoint with DPoP against a crypto-only handler, same stack, same run.

Figures:
- ``jwt_bearer_dpop_crypto_handler_rps``: the limit, a handler that reads the form, verifies
  the ID-JAG and the proof, and signs the access token, and nothing else;
  ``jwt_bearer_dpop_ratio`` = endpoint / that handler (target >= 0.85);
  ``jwt_bearer_dpop_fast_rps`` the endpoint on httptools + uvloop (information).
- ``jwt_bearer_dpop_rps``: redemptions per second, every request a fresh ID-JAG bound to
  the client's key (``cnf.jkt``) with a fresh ES256 proof for the token endpoint (draft
  §8.6.1.2 case 1); the memory replay store holds both the ID-JAG and the proof ``jti``.
- ``jwt_bearer_dpop_ceiling_rps``: ``1 / (1/empty_rps + 2*verify_s + sign_s)`` (one ID-JAG
  verification, one proof verification, one access token signature), where ``empty_rps``
  is an empty Starlette handler on the same server and load generator, measured in the
  same run, and ``verify_s``/``sign_s`` are measured in-process.
- ``jwt_bearer_dpop_vs_ceiling``: the endpoint against that old ceiling (comparison only).
- ``dpop_proof_verify_us``: one proof verification in-process (for reference).

The server is :mod:`bench.bench_resource`'s in ``dpop`` mode (uvicorn, one worker,
127.0.0.1); the empty handler, the load generator and the interleaved best-of rounds are
those of :mod:`bench.bench_resource` too.
"""

from __future__ import annotations

import time

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
    RESOURCE,
    TOKEN_URL,
    _best_rates,
    _requests,
    _Server,
)
from .common import Figure, per_call_us


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
    servers: dict[str, _Server] = {}
    try:
        for name in ("empty", "crypto_dpop", "dpop"):
            servers[name] = _Server(name, idp_key)
        servers["dpop_fast"] = _Server("dpop", idp_key, stack="fast")
        # Built right before each run: every proof must still be within its iat window.
        rates = _best_rates(servers, lambda name, n: _requests(idp_key, n, dpop=key))
    finally:
        for server in servers.values():
            server.stop()
    ceiling = 1 / (1 / rates["empty"] + 2 * verify_s + sign_s)
    return [
        Figure("jwt_bearer_dpop_crypto_handler_rps", rates["crypto_dpop"], "req/s"),
        Figure("jwt_bearer_dpop_rps", rates["dpop"], "req/s"),
        Figure("jwt_bearer_dpop_ratio", rates["dpop"] / rates["crypto_dpop"], "x"),
        Figure("jwt_bearer_dpop_fast_rps", rates["dpop_fast"], "req/s"),
        Figure("dpop_proof_verify_us", proof_s * 1e6, "us"),
        # The old ceiling, for comparison only.
        Figure("jwt_bearer_dpop_empty_handler_rps", rates["empty"], "req/s"),
        Figure("jwt_bearer_dpop_verify_us", verify_s * 1e6, "us"),
        Figure("jwt_bearer_dpop_sign_us", sign_s * 1e6, "us"),
        Figure("jwt_bearer_dpop_ceiling_rps", ceiling, "req/s"),
        Figure("jwt_bearer_dpop_vs_ceiling", rates["dpop"] / ceiling, "x"),
    ]
