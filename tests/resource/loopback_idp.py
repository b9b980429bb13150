"""A minimal IdP for resource-side e2e tests: RFC 8414 metadata and a JWKS over loopback,
and ID-JAGs minted with xaa.issue_id_jag."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import free_port, serve
from xaa import IdJagClaims, SigningKey, issue_id_jag


@dataclass
class LoopbackIdp:
    issuer: str
    key: SigningKey
    jwks_hits: list[str] = field(default_factory=list)

    def id_jag(self, audience: str, client_id: str, **claims: Any) -> str:
        defaults: dict[str, Any] = {
            "scope": "chat.read chat.history chat.write",
            "email": "alice@acme.example",
        }
        defaults.update(claims)
        subject = defaults.pop("sub", "alice-idp-sub")
        jag = IdJagClaims.new(
            issuer=self.issuer,
            subject=subject,
            audience=audience,
            client_id=client_id,
            **defaults,
        )
        return issue_id_jag(jag, self.key)


@contextlib.contextmanager
def loopback_idp() -> Iterator[LoopbackIdp]:
    port = free_port()
    idp = LoopbackIdp(f"http://127.0.0.1:{port}", SigningKey.generate("ES256", kid="idp-e2e"))

    async def metadata(request: Request) -> JSONResponse:
        del request
        return JSONResponse({"issuer": idp.issuer, "jwks_uri": idp.issuer + "/jwks"})

    async def jwks(request: Request) -> JSONResponse:
        idp.jwks_hits.append(request.url.path)
        return JSONResponse({"keys": [idp.key.public_jwk()]})

    app = Starlette(
        routes=[
            Route("/.well-known/oauth-authorization-server", metadata),
            Route("/jwks", jwks),
        ]
    )
    with serve(app, port):
        yield idp
