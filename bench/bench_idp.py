"""IdP token exchange throughput against a crypto-only handler on the same stack, same run.

- ``token_exchange_rps``: the library endpoint (``xaa.adapters._starlette_idp``,
  in-memory stores) on one uvicorn worker (h11 + asyncio) in a subprocess, driven over
  loopback by :mod:`bench.bench_resource`'s load generator (interleaved best-of rounds).
- ``token_exchange_crypto_handler_rps``: the limit, a handler that reads the form,
  verifies the ID token and signs an ID-JAG, and nothing else.
- ``token_exchange_ratio``: the first over the second (target >= 0.85).
- ``*_fast_rps``: the same on httptools + uvloop; ``token_exchange_two_workers_fast_rps``
  with two worker processes (information).
- ``token_exchange_ceiling_rps`` / ``token_exchange_vs_ceiling``: the old ceiling,
  ``1 / (1/empty_rps + verify_s + sign_s)`` from an empty handler and tight-loop crypto
  (comparison only).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from xaa import (
    IdJagClaims,
    IdTokenClaims,
    JwkSet,
    RegisteredClient,
    SigningKey,
    basic_header,
    encode_form,
    issue_id_jag,
    issue_id_token,
    json_response,
    spec,
    verify_id_token,
)
from xaa.adapters.serving import free_port

from .bench_resource import STACKS, _best_rates
from .common import Figure, per_call_us

HOST = "127.0.0.1"  # the load generator only ever targets loopback
ISSUER = "http://127.0.0.1:9400"
AS = "http://127.0.0.1:9500"
KEY_ENV = "XAA_BENCH_IDP_KEY"
POLICY = {
    "resource_servers": [{"issuer": AS, "resources": [f"{AS}/api"]}],
    "grants": [
        {
            "client": "wiki",
            "audience": AS,
            "client_id": "wiki-at-chat",
            "scopes": [{"scopes": ["chat.read", "chat.history"]}],
        }
    ],
}


class _Keys:
    """One signing key and its verification set, built once."""

    never_blocks = True  # in memory: the adapter runs the exchange on the event loop

    def __init__(self, key: SigningKey) -> None:
        self.current = key
        self._jwks = JwkSet([key.verification_key()])

    def verification_keys(self) -> JwkSet:
        return self._jwks


class _Clients:
    never_blocks = True

    def __init__(self) -> None:
        self.wiki = RegisteredClient.with_secret("wiki", "wiki-secret")

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self.wiki if client_id == "wiki" else None


class _CountingSink:
    """Audit sink that keeps only counts (the run is bounded anyway)."""

    never_blocks = True

    def __init__(self) -> None:
        self.count = 0

    def emit(self, event: Any) -> None:
        self.count += 1


def token_app() -> Any:
    """Uvicorn factory: the library token exchange endpoint with in-memory stores."""
    from starlette.applications import Starlette

    from xaa.adapters.starlette import idp_routes
    from xaa.idp import ExchangePolicy, TokenExchangeEndpoint, idp_metadata
    from xaa.stores import MemoryReplayStore

    key = SigningKey.from_jwk(json.loads(os.environ[KEY_ENV]))
    endpoint = TokenExchangeEndpoint(
        issuer=ISSUER,
        keys=_Keys(key),
        clients=_Clients(),
        replay=MemoryReplayStore(),
        policy=ExchangePolicy.from_config(POLICY),
        audit=_CountingSink(),
    )
    return Starlette(routes=idp_routes(endpoint, idp_metadata(ISSUER)))


def empty_app() -> Any:
    """Uvicorn factory: an empty Starlette POST handler (the HTTP stack's own cost)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def token(request: Request) -> Response:
        await request.body()  # every real token endpoint reads the form
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/token", token, methods=["POST"])])


def crypto_app() -> Any:
    """Uvicorn factory: parse the form, verify the ID token, sign an ID-JAG, and nothing else
    (no client authentication, policy or audit): how close the crypto alone gets."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from xaa.adapters.starlette import read_form_body, to_starlette
    from xaa.idp import TokenExchangeEndpoint

    key = SigningKey.from_jwk(json.loads(os.environ[KEY_ENV]))
    keys = JwkSet([key.verification_key()])

    async def token(request: Request) -> Response:
        form = TokenExchangeEndpoint.parse(await read_form_body(request))
        verify_id_token(form["subject_token"], keys=keys, issuer=ISSUER, client_id="wiki")
        claims = IdJagClaims.new(issuer=ISSUER, subject="alice", audience=AS, client_id="w")
        body = {"access_token": issue_id_jag(claims, key), "token_type": "N_A"}
        return to_starlette(json_response(200, body))

    return Starlette(routes=[Route("/token", token, methods=["POST"])])


class _IdpServer:
    """One factory of this module under uvicorn in a subprocess (``stack``: see
    :data:`bench.bench_resource.STACKS`)."""

    def __init__(
        self, factory: str, env: dict[str, str], *, stack: str = "base", workers: int = 1
    ) -> None:
        self.port = free_port()
        self.stack = stack
        http, loop = STACKS[stack]
        cmd = [sys.executable, "-m", "uvicorn", "--factory", f"bench.bench_idp:{factory}"]
        cmd += ["--host", HOST, "--port", str(self.port), "--workers", str(workers)]
        cmd += ["--http", http, "--loop", loop, "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"{factory} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _post(body: bytes, headers: dict[str, str]) -> bytes:
    lines = [b"POST /token HTTP/1.1", b"host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    lines += [b"content-type: application/x-www-form-urlencoded"]
    lines += [f"content-length: {len(body)}".encode(), b"", body]
    return b"\r\n".join(lines)


def run() -> list[Figure]:
    key = SigningKey.generate("ES256", kid="bench-1")
    now = int(time.time())
    id_token = issue_id_token(
        IdTokenClaims(iss=ISSUER, sub="alice", aud="wiki", iat=now, exp=now + 3600, auth_time=now),
        key,
    )
    body = encode_form(
        {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
            "audience": AS,
            "scope": "chat.read",
            "subject_token": id_token,
            "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
        }
    )
    request = _post(body, {"authorization": basic_header("wiki", "wiki-secret")})
    env = {**os.environ, KEY_ENV: json.dumps(key.private_jwk())}

    keys = JwkSet([key.verification_key()])
    verify_s = (
        per_call_us(lambda: verify_id_token(id_token, keys=keys, issuer=ISSUER, client_id="wiki"))
        / 1e6
    )
    claims = IdJagClaims.new(issuer=ISSUER, subject="alice", audience=AS, client_id="wiki-at-chat")
    sign_s = per_call_us(lambda: issue_id_jag(claims, key)) / 1e6

    servers: dict[str, Any] = {}
    try:
        servers["empty"] = _IdpServer("empty_app", env)
        servers["crypto"] = _IdpServer("crypto_app", env)
        servers["token"] = _IdpServer("token_app", env)
        servers["crypto_fast"] = _IdpServer("crypto_app", env, stack="fast")
        servers["token_fast"] = _IdpServer("token_app", env, stack="fast")
        servers["two_workers_fast"] = _IdpServer("token_app", env, stack="fast", workers=2)
        rates = _best_rates(servers, lambda name, n: [request], reusable=frozenset(servers))
    finally:
        for server in servers.values():
            server.stop()
    ceiling = 1 / (1 / rates["empty"] + verify_s + sign_s)
    exchange_rps, crypto_rps = rates["token"], rates["crypto"]
    return [
        Figure("token_exchange_crypto_handler_rps", crypto_rps, "req/s"),
        Figure("token_exchange_rps", exchange_rps, "req/s"),
        Figure("token_exchange_ratio", exchange_rps / crypto_rps, "x"),
        Figure("token_exchange_crypto_handler_fast_rps", rates["crypto_fast"], "req/s"),
        Figure("token_exchange_fast_rps", rates["token_fast"], "req/s"),
        Figure("token_exchange_fast_ratio", rates["token_fast"] / rates["crypto_fast"], "x"),
        Figure("token_exchange_two_workers_fast_rps", rates["two_workers_fast"], "req/s"),
        # The old ceiling, for comparison only.
        Figure("token_exchange_empty_handler_rps", rates["empty"], "req/s"),
        Figure("token_exchange_verify_us", verify_s * 1e6, "us"),
        Figure("token_exchange_sign_us", sign_s * 1e6, "us"),
        Figure("token_exchange_ceiling_rps", ceiling, "req/s"),
        Figure("token_exchange_vs_ceiling", exchange_rps / ceiling, "x"),
    ]
