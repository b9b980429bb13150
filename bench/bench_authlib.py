"""A peer in the same run: authlib's ``IDJAGGrant`` against xaa's jwt-bearer endpoint.

Both servers get the same client (``client_secret_basic``), the same IdP key and the same
kind of pre-signed ID-JAGs (a fresh one per request), from the same load generator
(:mod:`bench.bench_resource`, interleaved best-of rounds). Each runs on its own default
deployment stack, one worker:

- xaa: its Starlette token route under uvicorn with httptools + uvloop (the ``server``
  extra installs ``uvicorn[standard]``; the reference apps deploy so), in-memory stores;
  it verifies the ID-JAG and signs an RFC 9068 access token per request.
- authlib: ``IDJAGGrant`` registered on authlib's Flask ``AuthorizationServer``, as its
  documentation builds it (hooks: audiences, issuer key, user, ``jti``, permission), on
  gunicorn, the first WSGI server Flask's deployment documentation lists (authlib's own
  example runs Flask's development server), with gunicorn's defaults: one worker process
  of the ``sync`` class, which closes the connection after each response, so the load
  generator opens a new one per request, as a proxy in front of it would. In-memory
  client, users, ``jti`` set and token table; it issues opaque bearer tokens (its default
  generator).

``jwt_bearer_vs_authlib`` = xaa's rate / authlib's (target >= 3.0).
``jwt_bearer_vs_authlib_gthread``: the same against gunicorn's ``gthread`` worker, which keeps
connections alive like uvicorn (information: the peer's best case on this load).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from xaa import SigningKey, spec

from .bench_resource import CLIENT, ISSUER, SECRET, _best_rates, _requests, _Server
from .common import Figure

IDP_JWK_ENV = "XAA_BENCH_IDP_JWK"
ROOT = Path(__file__).resolve().parent.parent


class _Client:
    """authlib's ``ClientMixin``: one confidential client (``client_secret_basic``)."""

    def __init__(self, client_id: str, secret: str) -> None:
        self.client_id = client_id
        self._digest = hashlib.sha256(secret.encode()).digest()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        digest = hashlib.sha256(client_secret.encode()).digest()
        return hmac.compare_digest(digest, self._digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == spec.GRANT_JWT_BEARER


def create_app() -> Any:
    """Gunicorn factory: Flask + authlib's ``AuthorizationServer`` with ``IDJAGGrant``."""
    import flask
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.drafts import IDJAGGrant
    from joserfc.jwk import KeySet

    from .bench_resource import IDP

    keys = KeySet.import_key_set({"keys": [json.loads(os.environ[IDP_JWK_ENV])]})
    client = _Client(CLIENT, SECRET)
    users: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str]] = set()
    tokens: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    class Grant(IDJAGGrant):  # type: ignore[misc]
        def get_audiences(self) -> list[str]:
            return [ISSUER]

        def resolve_issuer_key(self, issuer: str, headers: Any) -> Any:
            if issuer != IDP:
                return None
            return keys

        def authenticate_user(self, subject: str) -> int:
            key = (self.request.id_jag_claims["iss"], subject)
            with lock:
                return users.setdefault(key, len(users) + 1)

        def check_jti(self, claims: Any, jti: str) -> bool:
            key = (claims["iss"], jti)
            with lock:
                if key in seen:
                    return False
                seen.add(key)
                return True

        def check_id_jag_permission(self, client: Any, user: Any, scopes: Any) -> bool:
            return True

    app = flask.Flask(__name__)

    def query_client(client_id: str) -> _Client | None:
        return client if client_id == CLIENT else None

    def save_token(token: dict[str, Any], request: Any) -> None:
        tokens[token["access_token"]] = {"client": request.client.client_id, **token}

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(Grant)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    return app


class _Gunicorn:
    """``gunicorn 'bench.bench_authlib:create_app()'``, one worker process, in a subprocess:
    gunicorn's default ``sync`` worker class, or ``gthread`` (keep-alive)."""

    stack = "base"

    def __init__(self, idp_key: SigningKey, worker_class: str = "sync") -> None:
        binary = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        if binary is None:
            raise RuntimeError("gunicorn is needed for the authlib peer (pip install gunicorn)")
        self.port = _free_port()
        cmd = [binary, "--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
        cmd += ["--worker-class", worker_class, "--log-level", "warning"]
        cmd += ["bench.bench_authlib:create_app()"]
        env = {**os.environ, IDP_JWK_ENV: json.dumps(idp_key.public_jwk())}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _free_port() -> int:
    from xaa.adapters.serving import free_port

    return free_port()


def run() -> list[Figure]:
    """Measure every figure of this module."""
    idp_key = SigningKey.generate("ES256", kid="bench-idp")
    servers: dict[str, Any] = {}
    try:
        servers["xaa"] = _Server("token", idp_key, stack="fast")
        servers["authlib"] = _Gunicorn(idp_key)
        servers["authlib_gthread"] = _Gunicorn(idp_key, "gthread")
        rates = _best_rates(servers, lambda name, n: _requests(idp_key, n))
    finally:
        for server in servers.values():
            server.stop()
    return [
        Figure("jwt_bearer_xaa_default_stack_rps", rates["xaa"], "req/s"),
        Figure("jwt_bearer_authlib_rps", rates["authlib"], "req/s"),
        Figure("jwt_bearer_vs_authlib", rates["xaa"] / rates["authlib"], "x"),
        Figure("jwt_bearer_authlib_gthread_rps", rates["authlib_gthread"], "req/s"),
        Figure("jwt_bearer_vs_authlib_gthread", rates["xaa"] / rates["authlib_gthread"], "x"),
    ]
