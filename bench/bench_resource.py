"""The jwt-bearer token endpoint against a crypto-only handler on the same stack, same run.

Figures (docs/benchmarks.md):
- ``jwt_bearer_rps`` / ``jwt_bearer_redis_rps``: redemptions per second, memory and Redis
  replay stores (every request a fresh ID-JAG, Basic client authentication), one worker on
  uvicorn's h11 + asyncio stack.
- ``jwt_bearer_crypto_handler_rps``: the limit, a handler that reads the form, verifies the
  ID-JAG and signs an access token, and nothing else, on the same stack.
- ``jwt_bearer_ratio`` = endpoint / crypto-only handler (target >= 0.85);
  ``jwt_bearer_redis_vs_memory`` = Redis / memory (target >= 0.90).
- ``jwt_bearer_p50_ms`` / ``jwt_bearer_p99_ms``: latency at half the measured maximum rate
  (memory store), measured from each request's scheduled send time, in the median (by p99)
  of three 2-second paced runs (target p99 <= 5 ms).
- ``*_fast_rps``: the same on httptools + uvloop; ``jwt_bearer_redis_two_workers_fast_rps``
  two worker processes sharing Redis (information).
- ``*_ceiling_rps`` / ``*_vs_ceiling``: the old ceiling, ``1 / (1/empty_rps + verify_s +
  sign_s)`` from an empty handler and tight-loop crypto (comparison only).

The servers run as ``python -m bench.bench_resource serve ...`` (uvicorn, 127.0.0.1); the load
generator is a bounded pool of keep-alive HTTP/1.1 connections over raw asyncio streams; a
private ``redis-server`` is started for the Redis figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xaa import (
    AuditEvent,
    IdJagClaims,
    JwkSet,
    RegisteredClient,
    SigningKey,
    basic_header,
    encode_form,
    issue_access_token,
    issue_id_jag,
    spec,
    verify_id_jag,
)
from xaa.adapters.serving import free_port
from xaa.dpop import DpopKey, make_proof

from .common import Figure, per_call_us

IDP = "http://127.0.0.1:1"
ISSUER = "http://127.0.0.1:2"
RESOURCE = ISSUER + "/api"
CLIENT, SECRET = "wiki-at-chat", "wiki-chat-secret"
TOKEN_URL = ISSUER + "/token"
CONNECTIONS = 16
SECONDS = 2.0
ROUNDS = 3
POOL = 24000
ROOT = Path(__file__).resolve().parent.parent
PACED_RUNS = 3
MODES = ("empty", "token", "dpop", "crypto", "crypto_dpop")
# (http, loop): the stack the targets are measured on (uvicorn's pure-Python one, as
# before), and the fast one the reference apps deploy on (uvicorn[standard]).
STACKS = {"base": ("h11", "asyncio"), "fast": ("httptools", "uvloop")}


# -- the server (runs in the subprocess) ------------------------------------------------------


class _DiscardAudit:
    never_blocks = True  # in memory: the adapter runs the steps on the event loop

    def emit(self, event: AuditEvent) -> None:
        del event


class _Clients:
    never_blocks = True

    def __init__(self) -> None:
        self.client = RegisteredClient.with_secret(CLIENT, SECRET)

    def get_client(self, client_id: str) -> RegisteredClient | None:
        return self.client if client_id == CLIENT else None


def build_app(mode: str, idp_jwk: dict[str, Any], redis_url: str | None) -> Any:
    """The Starlette app: ``empty`` (ceiling baseline), the token endpoint (``token``) or the
    token endpoint with a DPoP verifier (``dpop``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from xaa import DpopVerifier
    from xaa.adapters.starlette import JwksFetcher, token_route
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
    from xaa.stores import MemoryReplayStore

    if mode == "empty":

        async def empty(request: Request) -> Response:
            await request.body()
            return Response(b"{}", media_type="application/json")

        return Starlette(routes=[Route("/token", empty, methods=["POST"])])
    if mode in ("crypto", "crypto_dpop"):
        return Starlette(routes=[crypto_route(idp_jwk, dpop=mode == "crypto_dpop")])
    if redis_url:
        from xaa.adapters.redis_store import AsyncRedisReplayStore

        replay: Any = AsyncRedisReplayStore(redis_url)
    else:
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
        dpop=DpopVerifier(replay) if mode == "dpop" else None,
    )
    return Starlette(routes=[token_route(endpoint, JwksFetcher())])


def crypto_route(idp_jwk: dict[str, Any], *, dpop: bool) -> Any:
    """The limit: read the form, verify the ID-JAG (and the DPoP proof), sign an access
    token, and nothing else (no client authentication, policy, subject, replay or audit)."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from xaa import AccessTokenClaims, json_response, parse_form
    from xaa._dpop import check_proof
    from xaa.adapters.starlette import lower_headers, read_form_body, to_starlette
    from xaa.stores import MemoryReplayStore

    keys = JwkSet.from_jwks({"keys": [idp_jwk]})
    as_key = SigningKey.generate("ES256", kid="as")
    unused = MemoryReplayStore()  # check_proof states the jti claim; the handler skips it

    async def token(request: Request) -> Response:
        form = parse_form(await read_form_body(request))
        now = time.time()
        jag = verify_id_jag(
            form[spec.P_ASSERTION],
            keys=keys,
            issuer=IDP,
            audience=ISSUER,
            client_id=CLIENT,
            now=now,
            allow_cnf=dpop,
        ).claims
        cnf = None
        if dpop:
            proof = lower_headers(request)[spec.H_DPOP]
            result, _ = check_proof(proof, htm="POST", htu=TOKEN_URL, replay=unused, now=now)
            cnf = {"jkt": result.jkt}
        issued = int(now)
        claims = {"iss": ISSUER, "sub": jag.sub, "aud": RESOURCE, "client_id": CLIENT}
        claims |= {"jti": secrets.token_urlsafe(16), "iat": issued, "exp": issued + 900}
        claims |= {"scope": jag.scope} | ({"cnf": cnf} if cnf else {})
        token = issue_access_token(AccessTokenClaims.model_validate(claims), as_key)
        body = {"access_token": token, "token_type": "DPoP" if dpop else "Bearer"}
        return to_starlette(json_response(200, body))

    return Route("/token", token, methods=["POST"])


def app_from_env() -> Any:
    """Uvicorn factory (each worker process): the app named by ``XAA_BENCH_*``."""
    idp_jwk = json.loads(os.environ["XAA_BENCH_IDP_JWK"])
    return build_app(os.environ["XAA_BENCH_MODE"], idp_jwk, os.environ.get("XAA_BENCH_REDIS"))


def serve_main(argv: list[str]) -> None:
    """``python -m bench.bench_resource serve --port P --mode M [--redis URL] [--stack S]
    [--workers N]``."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--redis", default="")
    parser.add_argument("--stack", choices=sorted(STACKS), default="base")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.update(XAA_BENCH_MODE=args.mode, XAA_BENCH_REDIS=args.redis)
    http, loop = STACKS[args.stack]
    uvicorn.run(
        "bench.bench_resource:app_from_env",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        http=http,
        loop=loop,
        log_level="error",
        access_log=False,
    )


# -- the load generator -----------------------------------------------------------------------


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("benchmark server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("benchmark server did not start")


class _Server:
    def __init__(
        self,
        mode: str,
        idp_key: SigningKey,
        redis_url: str | None = None,
        *,
        stack: str = "base",
        workers: int = 1,
    ) -> None:
        self.port = free_port()
        self.stack = stack
        cmd = [sys.executable, "-m", "bench.bench_resource", "serve", "--port", str(self.port)]
        cmd += ["--mode", mode, "--stack", stack, "--workers", str(workers)]
        if redis_url:
            cmd += ["--redis", redis_url]
        env = {**os.environ, "XAA_BENCH_IDP_JWK": json.dumps(idp_key.public_jwk())}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        _wait_port(self.port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _requests(idp_key: SigningKey, count: int, dpop: DpopKey | None = None) -> list[bytes]:
    """Raw HTTP/1.1 token requests, each with a fresh ID-JAG; with ``dpop``, the ID-JAG is
    bound to that key and each request carries a fresh proof."""
    auth = basic_header(CLIENT, SECRET)
    cnf = {"jkt": dpop.jkt} if dpop is not None else None
    out = []
    for _ in range(count):
        jag = IdJagClaims.new(
            issuer=IDP,
            subject="alice",
            audience=ISSUER,
            client_id=CLIENT,
            scope="chat.read",
            email="alice@example.com",
            cnf=cnf,
        )
        body = encode_form(
            {"grant_type": spec.GRANT_JWT_BEARER, "assertion": issue_id_jag(jag, idp_key)}
        )
        proof = f"dpop: {make_proof(dpop, 'POST', TOKEN_URL)}\r\n" if dpop is not None else ""
        head = (
            f"POST /token HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {auth}\r\n{proof}"
            "content-type: application/x-www-form-urlencoded\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """``(status, closing)``: ``closing`` when the server ends the connection after this
    response (gunicorn's sync worker does after every one)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    closing = False
    for line in head.split(b"\r\n"):
        name = line[:15].lower()
        if name == b"content-length:":
            length = int(line[15:])
        elif name.startswith(b"connection:") and b"close" in line.lower():
            closing = True
    await reader.readexactly(length)
    return status, closing


async def _saturate(
    port: int, requests: list[bytes], seconds: float, *, reuse: bool = False
) -> float:
    """Closed loop with CONNECTIONS connections; returns successful requests per second.

    ``reuse`` cycles through ``requests`` (only for the empty handler, which has no replay).
    """
    queue = itertools.cycle(requests) if reuse else iter(requests)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                if time.perf_counter() > deadline:
                    return
                status, closing = await _exchange(reader, writer, request)
                if status != 200:
                    raise RuntimeError("benchmark request refused")
                done += 1
                if closing:  # the server closes: a new connection, as a proxy would open
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - start
    if elapsed < seconds * 0.9:
        raise RuntimeError("benchmark ran out of pre-built requests")
    return done / elapsed


async def _warm_up(port: int, requests: list[bytes]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            _, closing = await _exchange(reader, writer, request)
            if closing:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _paced(port: int, requests: list[bytes], rate: float, seconds: float) -> list[float]:
    """Open loop at ``rate``: latencies (s) from each request's scheduled time."""
    total = int(rate * seconds)
    jobs: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def producer() -> None:
        for i, request in enumerate(requests[:total]):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            jobs.put_nowait((scheduled, request))
        for _ in range(CONNECTIONS):
            jobs.put_nowait((0.0, b""))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                scheduled, request = await jobs.get()
                if not request:
                    return
                await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - scheduled)
        finally:
            writer.close()

    await asyncio.gather(producer(), *(worker() for _ in range(CONNECTIONS)))
    return sorted(latencies)


def _start_redis() -> tuple[str, subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is needed for the Redis figure")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    _wait_port(port, proc)
    return f"redis://127.0.0.1:{port}/0", proc


def _best_rates(
    servers: dict[str, _Server],
    make: Callable[[str, int], list[bytes]],
    *,
    reusable: frozenset[str] = frozenset({"empty"}),
    rounds: int = ROUNDS,
) -> dict[str, float]:
    """Best rate of each server over ``rounds`` interleaved rounds (the box is shared:
    interleaving and best-of keep one server's figure from catching a busier moment than
    another's). ``make(name, n)`` builds ``n`` fresh requests for a server right before its
    run (DPoP proofs stay within their window); ``reusable`` servers cycle one small pool."""
    best = dict.fromkeys(servers, 0.0)
    pools = {name: make(name, 2000) for name in reusable if name in servers}
    for name, server in servers.items():
        warm = (pools[name] * 200)[:200] if name in pools else make(name, 200)
        asyncio.run(_warm_up(server.port, warm))
    for _ in range(rounds):
        for name, server in servers.items():
            reuse = name in reusable
            if reuse:
                pool = pools[name]
            else:
                guess = 12000 if server.stack == "base" else 20000
                pool = make(name, max(guess, int(best[name] * SECONDS * 1.4) + CONNECTIONS))
            rate = asyncio.run(_saturate(server.port, pool, SECONDS, reuse=reuse))
            best[name] = max(best[name], rate)
    return best


def _crypto_costs(idp_key: SigningKey) -> tuple[float, float]:
    """Seconds per ID-JAG verification and per access token signature, in a tight loop
    (the old ceiling's terms)."""
    jag = issue_id_jag(
        IdJagClaims.new(
            issuer=IDP, subject="alice", audience=ISSUER, client_id=CLIENT, scope="chat.read"
        ),
        idp_key,
    )
    keys = JwkSet([idp_key.verification_key()])
    verify_s = (
        per_call_us(
            lambda: verify_id_jag(jag, keys=keys, issuer=IDP, audience=ISSUER, client_id=CLIENT)
        )
        / 1e6
    )
    as_key = SigningKey.generate("ES256", kid="as")
    from xaa import AccessTokenClaims

    claims = AccessTokenClaims(
        iss=ISSUER,
        sub="u",
        aud=RESOURCE,
        client_id=CLIENT,
        jti="j",
        iat=int(time.time()),
        exp=int(time.time()) + 900,
    )
    sign_s = per_call_us(lambda: issue_access_token(claims, as_key)) / 1e6
    return verify_s, sign_s


def run() -> list[Figure]:
    """Measure every figure of this module."""
    idp_key = SigningKey.generate("ES256", kid="bench-idp")
    verify_s, sign_s = _crypto_costs(idp_key)
    redis_url, redis_proc = _start_redis()
    servers: dict[str, _Server] = {}
    try:
        servers["empty"] = _Server("empty", idp_key)
        servers["crypto"] = _Server("crypto", idp_key)
        servers["memory"] = _Server("token", idp_key)
        servers["redis"] = _Server("token", idp_key, redis_url)
        servers["crypto_fast"] = _Server("crypto", idp_key, stack="fast")
        servers["memory_fast"] = _Server("token", idp_key, stack="fast")
        servers["redis_fast"] = _Server("token", idp_key, redis_url, stack="fast")
        # Two worker processes share their replay state through Redis, as a deployment must.
        servers["two_workers_fast"] = _Server("token", idp_key, redis_url, stack="fast", workers=2)
        rates = _best_rates(servers, lambda name, n: _requests(idp_key, n))
    finally:
        for server in servers.values():
            server.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
    memory_rps, crypto_rps = rates["memory"], rates["crypto"]
    ceiling = 1 / (1 / rates["empty"] + verify_s + sign_s)
    server = _Server("token", idp_key)
    try:
        # Three paced runs; the one with the median p99 is reported (the box is shared).
        runs = [
            asyncio.run(_paced(server.port, _requests(idp_key, 8000), memory_rps / 2, SECONDS))
            for _ in range(PACED_RUNS)
        ]
    finally:
        server.stop()
    runs.sort(key=lambda latencies: latencies[int(len(latencies) * 0.99)])
    paced = runs[len(runs) // 2]
    return [
        Figure("jwt_bearer_crypto_handler_rps", crypto_rps, "req/s"),
        Figure("jwt_bearer_rps", memory_rps, "req/s"),
        Figure("jwt_bearer_ratio", memory_rps / crypto_rps, "x"),
        Figure("jwt_bearer_redis_rps", rates["redis"], "req/s"),
        Figure("jwt_bearer_redis_vs_memory", rates["redis"] / memory_rps, "x"),
        Figure("jwt_bearer_p50_ms", paced[len(paced) // 2] * 1e3, "ms"),
        Figure("jwt_bearer_p99_ms", paced[int(len(paced) * 0.99)] * 1e3, "ms"),
        # The fast stack (httptools + uvloop) and two workers: information, no target.
        Figure("jwt_bearer_crypto_handler_fast_rps", rates["crypto_fast"], "req/s"),
        Figure("jwt_bearer_fast_rps", rates["memory_fast"], "req/s"),
        Figure("jwt_bearer_fast_ratio", rates["memory_fast"] / rates["crypto_fast"], "x"),
        Figure("jwt_bearer_redis_fast_rps", rates["redis_fast"], "req/s"),
        Figure("jwt_bearer_redis_two_workers_fast_rps", rates["two_workers_fast"], "req/s"),
        # The old ceiling (an empty handler plus tight-loop crypto), for comparison only.
        Figure("jwt_bearer_empty_handler_rps", rates["empty"], "req/s"),
        Figure("jwt_bearer_verify_us", verify_s * 1e6, "us"),
        Figure("jwt_bearer_sign_us", sign_s * 1e6, "us"),
        Figure("jwt_bearer_ceiling_rps", ceiling, "req/s"),
        Figure("jwt_bearer_vs_ceiling", memory_rps / ceiling, "x"),
        Figure("jwt_bearer_redis_vs_ceiling", rates["redis"] / ceiling, "x"),
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve_main(sys.argv[2:])
    else:
        for figure in run():
            print(f"{figure.name}: {figure.value:.4g} {figure.unit}")
