"""IdP token exchange throughput against its ceiling, measured in the same run.

- ``token_exchange_rps``: the library endpoint (``xaa.adapters.starlette_idp``,
  in-memory stores) on one uvicorn worker in a subprocess, driven over loopback by
  a small keep-alive HTTP/1.1 load generator (bounded in requests and seconds).
- ``token_exchange_ceiling_rps``: ``1 / (1/empty_rps + verify_s + sign_s)``, where
  ``empty_rps`` is an empty Starlette POST handler under the same load generator
  and ``verify_s``/``sign_s`` the measured cost of one ID token verification and
  one ID-JAG signature.
- ``token_exchange_ratio``: the first over the second (target >= 0.7).
- ``token_exchange_crypto_handler_rps``: a handler that only parses, verifies and
  signs, to tell the endpoint's own overhead from the crypto's cost in a server.
"""

from __future__ import annotations

import asyncio
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
    encode_form,
    issue_id_jag,
    issue_id_token,
    json_response,
    spec,
    verify_id_token,
)
from xaa.adapters.serving import free_port
from xaa.forms import basic_header

from .common import Figure, per_call_us

HOST = "127.0.0.1"  # the load generator only ever targets loopback
ISSUER = "http://127.0.0.1:9400"
AS = "http://127.0.0.1:9500"
CONNECTIONS = 8
MAX_REQUESTS = 4000
MAX_SECONDS = 8.0
WARMUP = 300
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

    def __init__(self, key: SigningKey) -> None:
        self.current = key
        self._jwks = JwkSet([key.verification_key()])

    def verification_keys(self) -> JwkSet:
        return self._jwks


class _Clients:
    def __init__(self) -> None:
        self.wiki = RegisteredClient.with_secret("wiki", "wiki-secret")

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self.wiki if client_id == "wiki" else None


class _CountingSink:
    """Audit sink that keeps only counts (the run is bounded anyway)."""

    def __init__(self) -> None:
        self.count = 0

    def emit(self, event: Any) -> None:
        self.count += 1


def token_app() -> Any:
    """Uvicorn factory: the library token exchange endpoint with in-memory stores."""
    from starlette.applications import Starlette

    from xaa.adapters.starlette_idp import idp_routes
    from xaa.idp import ExchangePolicy, TokenExchangeEndpoint, idp_metadata
    from xaa.stores.memory import MemoryReplayStore

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


def _serve(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", f"bench.bench_idp:{factory}"]
    cmd += ["--host", HOST, "--port", str(port), "--workers", "1", "--log-level", "warning"]
    cmd += ["--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent, env=env)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{factory} did not start")


async def _connection(port: int, request: bytes, budget: list[int], stop: float) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    done = 0
    try:
        while budget[0] > 0 and time.perf_counter() < stop:
            budget[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return done


async def _load(port: int, request: bytes, count: int, seconds: float) -> float:
    budget = [count]
    start = time.perf_counter()
    stop = start + seconds
    done = await asyncio.gather(
        *(_connection(port, request, budget, stop) for _ in range(CONNECTIONS))
    )
    return sum(done) / (time.perf_counter() - start)


def _rps(factory: str, request: bytes, env: dict[str, str]) -> float:
    proc, port = _serve(factory, env)
    try:
        asyncio.run(_load(port, request.replace(b"{port}", str(port).encode()), WARMUP, 5))
        return asyncio.run(
            _load(port, request.replace(b"{port}", str(port).encode()), MAX_REQUESTS, MAX_SECONDS)
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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

    empty_rps = _rps("empty_app", request, env)  # the same request bytes: same HTTP cost
    crypto_rps = _rps("crypto_app", request, env)
    exchange_rps = _rps("token_app", request, env)
    ceiling = 1 / (1 / empty_rps + verify_s + sign_s)
    return [
        Figure("token_exchange_empty_handler_rps", empty_rps, "req/s"),
        Figure("token_exchange_verify_us", verify_s * 1e6, "us"),
        Figure("token_exchange_sign_us", sign_s * 1e6, "us"),
        Figure("token_exchange_crypto_handler_rps", crypto_rps, "req/s"),
        Figure("token_exchange_rps", exchange_rps, "req/s"),
        Figure("token_exchange_ceiling_rps", ceiling, "req/s"),
        Figure("token_exchange_ratio", exchange_rps / ceiling, "x"),
    ]
