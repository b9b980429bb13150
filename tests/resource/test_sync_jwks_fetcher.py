"""xaa.adapters._wsgi_common.SyncJwksFetcher: the blocking key fetcher of the WSGI bindings
drives the trust registry; every hostile answer is "no document", never an exception."""

from __future__ import annotations

import json

import httpx
import pytest

from xaa import SigningKey
from xaa.adapters._wsgi_common import SyncJwksFetcher
from xaa.resource import TrustedIssuer, TrustRegistry

IDP = "https://idp.example"
KEY = SigningKey.generate(kid="idp-1")


def fetcher(routes: dict[str, httpx.Response]) -> tuple[SyncJwksFetcher, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes.get(str(request.url), httpx.Response(404))

    return SyncJwksFetcher(transport=httpx.MockTransport(handle)), seen


def metadata(jwks_uri: str) -> httpx.Response:
    return httpx.Response(200, json={"issuer": IDP, "jwks_uri": jwks_uri})


def test_discovery_then_jwks_fills_the_registry() -> None:
    keys, _ = fetcher({
        IDP + "/.well-known/oauth-authorization-server": metadata(IDP + "/jwks"),
        IDP + "/jwks": httpx.Response(200, json={"keys": [KEY.public_jwk()]}),
    })  # fmt: skip
    trust = TrustRegistry([TrustedIssuer(IDP)])
    keys.refresh(trust, IDP, 1000.0)
    assert trust.keys(IDP).select("idp-1") is not None


@pytest.mark.parametrize(
    "answer",
    [
        metadata("http://[::1"),  # a URL httpx cannot parse
        metadata("http://idp.example/jwks"),  # http off loopback
        httpx.Response(200, content=b"[" * 30_000 + b"]" * 30_000),  # nests too deep
        httpx.Response(200, content=b"{" + b" " * 70_000 + b"}"),  # over the cap
        httpx.Response(302, headers={"location": IDP + "/jwks"}),  # never followed
        httpx.Response(200, content=b"not json"),
    ],
    ids=["bad-url", "plain-http", "deep-json", "oversized", "redirect", "not-json"],
)
def test_a_hostile_answer_keeps_the_cached_keys(answer: httpx.Response) -> None:
    keys, seen = fetcher({
        IDP + "/.well-known/oauth-authorization-server": answer,
        IDP + "/.well-known/openid-configuration": answer,
    })  # fmt: skip
    trust = TrustRegistry([TrustedIssuer(IDP)])
    keys.refresh(trust, IDP, 1000.0)
    assert trust.keys(IDP).select("idp-1") is None
    assert "http://idp.example/jwks" not in seen


def test_the_fetcher_parses_an_object_only() -> None:
    keys, _ = fetcher({IDP + "/x": httpx.Response(200, content=json.dumps([1]).encode())})
    with httpx.Client(transport=keys.transport) as client:
        assert keys.fetch(client, IDP + "/x") is None
