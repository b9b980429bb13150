"""JwksFetcher (docs/security.md, metadata and keys): caps, no redirects, https except loopback."""

from __future__ import annotations

import httpx
import pytest

from xaa import SigningKey
from xaa.adapters.starlette import JwksFetcher
from xaa.resource import TrustedIssuer, TrustRegistry

IDP = "https://idp.example"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _handler(pages: dict[str, httpx.Response], hits: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        return pages.get(str(request.url), httpx.Response(404))

    return httpx.MockTransport(handle)


async def _refresh(
    pages: dict[str, httpx.Response], **kwargs: int
) -> tuple[TrustRegistry, list[str]]:
    hits: list[str] = []
    registry = TrustRegistry([TrustedIssuer(IDP)])
    fetcher = JwksFetcher(transport=_handler(pages, hits), **kwargs)
    await fetcher.refresh(registry, IDP, 0)
    return registry, hits


def _meta(jwks_uri: str = IDP + "/jwks") -> httpx.Response:
    return httpx.Response(200, json={"issuer": IDP, "jwks_uri": jwks_uri})


@pytest.mark.anyio
async def test_fetches_metadata_then_keys() -> None:
    key = SigningKey.generate(kid="k")
    registry, hits = await _refresh(
        {
            IDP + "/.well-known/oauth-authorization-server": _meta(),
            IDP + "/jwks": httpx.Response(200, json={"keys": [key.public_jwk()]}),
        }
    )
    assert registry.keys(IDP).select("k") is not None
    assert len(hits) == 2


@pytest.mark.anyio
async def test_redirect_is_not_followed() -> None:
    registry, hits = await _refresh(
        {
            IDP + "/.well-known/oauth-authorization-server": _meta(),
            IDP + "/jwks": httpx.Response(302, headers={"location": "https://evil.example/jwks"}),
        }
    )
    assert len(registry.keys(IDP)) == 0
    assert "https://evil.example/jwks" not in hits


@pytest.mark.anyio
async def test_size_cap() -> None:
    big = {"keys": [], "pad": "x" * 5000}
    registry, _ = await _refresh(
        {
            IDP + "/.well-known/oauth-authorization-server": _meta(),
            IDP + "/jwks": httpx.Response(200, json=big),
        },
        max_bytes=1000,
    )
    assert len(registry.keys(IDP)) == 0


@pytest.mark.anyio
async def test_plain_http_off_loopback_and_non_json_are_refused() -> None:
    registry, hits = await _refresh(
        {
            IDP + "/.well-known/oauth-authorization-server": _meta("http://idp.example/jwks"),
        }
    )
    assert hits == [IDP + "/.well-known/oauth-authorization-server"]
    registry, _ = await _refresh(
        {
            IDP + "/.well-known/oauth-authorization-server": httpx.Response(200, text="<html>"),
        }
    )
    assert len(registry.keys(IDP)) == 0


@pytest.mark.anyio
async def test_timeout_keeps_stale_keys() -> None:
    key = SigningKey.generate(kid="k")
    registry = TrustRegistry([TrustedIssuer(IDP, jwks_uri=IDP + "/jwks")], min_refresh_interval=0)
    good = JwksFetcher(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"keys": [key.public_jwk()]})
        )
    )
    await good.refresh(registry, IDP, 0)

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    await JwksFetcher(transport=httpx.MockTransport(boom)).refresh(registry, IDP, 5000)
    assert registry.keys(IDP).select("k") is not None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        _meta("http://[::1"),  # urlsplit raises ValueError
        _meta("https://idp.example:abc/jwks"),  # httpx.InvalidURL, no HTTPError
        httpx.Response(200, content=b"[" * 30_000 + b"]" * 30_000),  # nests too deep
    ],
    ids=["bad-ipv6", "bad-port", "deep-json"],
)
async def test_a_malformed_jwks_uri_is_no_document_not_an_exception(
    answer: httpx.Response,
) -> None:
    """A trusted IdP's metadata naming a URL httpx cannot parse is "no document", as in
    the WSGI fetcher: the refresh ends without keys and never raises into the token
    request (which would answer 500)."""
    registry, hits = await _refresh({IDP + "/.well-known/oauth-authorization-server": answer})
    assert len(registry.keys(IDP)) == 0
    assert IDP + "/jwks" not in hits
