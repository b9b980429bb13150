"""The mocks of the client suite: an IdP, a resource AS, an API and a "trap" origin.

Each runs on its own loopback port and records every request. The shared
:class:`MockWorld` holds the scenario being played: well-behaved, or one
misbehaviour (metadata naming another issuer, a wrong ``issued_token_type``,
an ID-JAG for another AS, a 307 to the trap, ...).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xaa import SigningKey, spec
from xaa._forms import parse_form

from ._forge import compact
from ._serving import free_port, serve_in_thread

COMMAND_TIMEOUT = 60.0
IDP_CLIENT, AS_CLIENT = "conformance-client", "conformance-client-at-as"
SCOPE = "chat.read"
# Scope step-up (RFC 6750 §3.1): the scope the API asks for in its 403 insufficient_scope.
STEP_UP_SCOPE = "chat.write"
MAX_API_CALLS = 4  # then the API gives in, so that a looping client ends


@dataclass
class Recorded:
    """One request a mock received."""

    role: str
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    body: bytes


@dataclass
class MockWorld:
    """The mocks' shared state: URLs, keys, the scenario being played, what was received."""

    idp: str
    authorization_server: str
    api: str
    trap: str
    idp_secret: str = field(default_factory=lambda: "idp-secret-" + secrets.token_hex(8))
    as_secret: str = field(default_factory=lambda: "as-secret-" + secrets.token_hex(8))
    key: SigningKey = field(default_factory=lambda: SigningKey.generate(kid="mock-idp-1"))
    scenario: frozenset[str] = frozenset()
    subject_token: str = ""
    issued: list[str] = field(default_factory=list)
    jag_scopes: dict[str, str] = field(default_factory=dict)  # ID-JAG -> its scope
    granted: dict[str, str] = field(default_factory=dict)  # access token -> its scope
    received: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def resource(self) -> str:
        """The protected resource identifier."""
        return self.api + "/api"

    def requests(self, role: str, path: str | None = None) -> list[Recorded]:
        """What ``role`` received (at ``path``)."""
        with self.lock:
            return [r for r in self.received if r.role == role and path in (None, r.path)]

    def id_token(self) -> str:
        """The user's ID token, issued to the client by the mock IdP."""
        now = int(time.time())
        claims = {"iss": self.idp, "sub": "conformance-user", "aud": IDP_CLIENT,
                  "iat": now, "exp": now + 3600, "email": "user@xaa.example"}  # fmt: skip
        return compact({"typ": "JWT", "alg": self.key.alg, "kid": self.key.kid}, claims, self.key)

    def id_jag(self, scope: str = SCOPE) -> str:
        """The ID-JAG of the current scenario (one defect at most)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.idp, "sub": "conformance-user", "aud": self.authorization_server,
            "client_id": AS_CLIENT, "jti": secrets.token_urlsafe(12), "iat": now,
            "exp": now + 300, "scope": scope, "resource": self.resource,
        }  # fmt: skip
        header = {"typ": spec.TYP_ID_JAG, "alg": self.key.alg, "kid": self.key.kid}
        if "jag-aud" in self.scenario:
            claims["aud"] = "https://another-as.xaa.example"
        if "jag-client-id" in self.scenario:
            claims["client_id"] = "someone-else-at-as"
        if "jag-typ" in self.scenario:
            header["typ"] = "JWT"
        if "jag-expired" in self.scenario:
            claims.update(iat=now - 900, exp=now - 600)
        token = compact(header, claims, self.key)
        self.issued.append(token)
        self.jag_scopes[token] = scope
        return token

    def env(self, id_token_file: str) -> dict[str, str]:
        """The environment of the client command."""
        return {
            "XAA_IDP_ISSUER": self.idp,
            "XAA_IDP_CLIENT_ID": IDP_CLIENT,
            "XAA_IDP_CLIENT_SECRET": self.idp_secret,
            "XAA_ID_TOKEN": self.subject_token,
            "XAA_ID_TOKEN_FILE": id_token_file,
            "XAA_AS_ISSUER": self.authorization_server,
            "XAA_AS_CLIENT_ID": AS_CLIENT,
            "XAA_AS_CLIENT_SECRET": self.as_secret,
            "XAA_RESOURCE": self.resource,
            "XAA_SCOPE": SCOPE,
        }


def _no_store(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status, headers={"cache-control": "no-store"})


def _recorder(world: MockWorld, role: str) -> Callable[[Request], Any]:
    async def record(request: Request) -> Recorded:
        body = await request.body()
        form: dict[str, list[str]] = {}
        if request.method == "POST":
            with contextlib.suppress(Exception):
                parsed = parse_form(body, repeatable=())
                form = {name: parsed.all(name) for name in parsed}
            if not form:
                form = parse_qs(body.decode("utf-8", "replace"))
        headers = {k.lower(): v for k, v in request.headers.items()}
        entry = Recorded(role, request.method, request.url.path, headers, form, body)
        with world.lock:
            world.received.append(entry)
        return entry

    return record


def _idp_app(world: MockWorld) -> Starlette:
    record = _recorder(world, "idp")

    async def metadata(request: Request) -> Response:
        await record(request)
        return JSONResponse({
            "issuer": "https://impostor.xaa.example" if "idp-issuer" in world.scenario
            else world.idp,
            "token_endpoint": (world.trap if "idp-token-origin" in world.scenario
                               else world.idp) + "/token",
            "jwks_uri": world.idp + "/jwks.json",
            "grant_types_supported": [spec.GRANT_TOKEN_EXCHANGE],
            "identity_chaining_requested_token_types_supported": [spec.TOKEN_TYPE_ID_JAG],
            "token_endpoint_auth_methods_supported": [spec.AUTH_CLIENT_SECRET_BASIC],
        })  # fmt: skip

    async def jwks(request: Request) -> Response:
        await record(request)
        return JSONResponse({"keys": [world.key.public_jwk()]})

    async def token(request: Request) -> Response:
        entry = await record(request)
        if "idp-redirect" in world.scenario:
            return Response(status_code=307, headers={"location": world.trap + "/token"})
        if "error-200" in world.scenario:
            return _no_store({"error": "invalid_grant", "error_description": "no"})
        scope = SCOPE
        if world.scenario & {"step-up", "step-up-always"}:  # grants what is asked
            scope = " ".join(entry.form.get(spec.P_SCOPE, [SCOPE])[:1])
        body: dict[str, Any] = {
            spec.R_ACCESS_TOKEN: world.id_jag(scope),
            spec.R_ISSUED_TOKEN_TYPE: spec.TOKEN_TYPE_ID_JAG,
            spec.R_TOKEN_TYPE: spec.TOKEN_TYPE_N_A,
            spec.R_EXPIRES_IN: 300,
            spec.R_SCOPE: scope,
        }
        if "issued-token-type" in world.scenario:
            body[spec.R_ISSUED_TOKEN_TYPE] = spec.TOKEN_TYPE_ACCESS_TOKEN
        if "token-type" in world.scenario:
            body[spec.R_TOKEN_TYPE] = "Bearer"
        if "no-token" in world.scenario:
            del body[spec.R_ACCESS_TOKEN]
        return _no_store(body)

    return Starlette(routes=[
        Route(spec.WELL_KNOWN_OAUTH_AS, metadata), Route(spec.WELL_KNOWN_OPENID, metadata),
        Route("/jwks.json", jwks), Route("/token", token, methods=["POST"]),
    ])  # fmt: skip


def _as_app(world: MockWorld) -> Starlette:
    record = _recorder(world, "as")

    async def metadata(request: Request) -> Response:
        await record(request)
        issuer = world.authorization_server
        return JSONResponse({
            "issuer": "https://impostor.xaa.example" if "as-issuer" in world.scenario else issuer,
            "token_endpoint": issuer + "/token",
            "grant_types_supported": [spec.GRANT_JWT_BEARER],
            "authorization_grant_profiles_supported": [spec.GRANT_PROFILE_ID_JAG],
            "token_endpoint_auth_methods_supported": [spec.AUTH_CLIENT_SECRET_BASIC,
                                                      spec.AUTH_CLIENT_SECRET_POST],
        })  # fmt: skip

    async def token(request: Request) -> Response:
        entry = await record(request)
        if "as-redirect" in world.scenario:
            return Response(status_code=307, headers={"location": world.trap + "/token"})
        assertion = (entry.form.get(spec.P_ASSERTION) or [""])[0]
        scope = world.jag_scopes.get(assertion, SCOPE)
        access_token = "mock-access-" + secrets.token_hex(8)
        world.granted[access_token] = scope
        return _no_store({"access_token": access_token, "token_type": "Bearer",
                          "expires_in": 600, "scope": scope})  # fmt: skip

    return Starlette(routes=[
        Route(spec.WELL_KNOWN_OAUTH_AS, metadata), Route(spec.WELL_KNOWN_OPENID, metadata),
        Route("/token", token, methods=["POST"]),
    ])  # fmt: skip


def _api_app(world: MockWorld) -> Starlette:
    record = _recorder(world, "api")

    async def metadata(request: Request) -> Response:
        await record(request)
        return JSONResponse({"resource": world.resource,
                             "authorization_servers": [world.authorization_server],
                             "scopes_supported": [SCOPE]})  # fmt: skip

    async def api(request: Request) -> Response:
        await record(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not token:
            return Response(status_code=401, headers={"www-authenticate": "Bearer"})
        held = world.granted.get(token, "").split()
        calls = len(world.requests("api", "/api"))
        if calls <= MAX_API_CALLS and (
            "step-up-always" in world.scenario
            or ("step-up" in world.scenario and STEP_UP_SCOPE not in held)
        ):
            challenge = f'Bearer error="insufficient_scope", scope="{SCOPE} {STEP_UP_SCOPE}"'
            return JSONResponse({"error": "insufficient_scope"}, 403,
                                headers={"www-authenticate": challenge})  # fmt: skip
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route(spec.WELL_KNOWN_PROTECTED_RESOURCE + "/api", metadata),
        Route("/api", api, methods=["GET", "POST"]),
    ])  # fmt: skip


def _trap_app(world: MockWorld) -> Starlette:
    record = _recorder(world, "trap")

    async def anything(request: Request) -> Response:
        await record(request)
        return JSONResponse({"error": "invalid_request"}, 400)

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@contextlib.contextmanager
def mock_world() -> Iterator[MockWorld]:
    """The mock IdP, AS, API and trap, each on its own loopback port."""
    ports = [free_port() for _ in range(4)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    world = MockWorld(idp=urls[0], authorization_server=urls[1], api=urls[2], trap=urls[3])
    apps = (_idp_app(world), _as_app(world), _api_app(world), _trap_app(world))
    with contextlib.ExitStack() as stack:
        for app, port in zip(apps, ports, strict=True):
            stack.enter_context(serve_in_thread(app, "127.0.0.1", port))
        yield world
