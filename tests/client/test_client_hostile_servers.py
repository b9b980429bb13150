"""The client against a hostile IdP, AS and resource server on real loopback sockets.

Each attack runs on httpx and httpx2, sync and async, with a small body cap and
a short hop deadline so every test ends within a second or two.
"""

from __future__ import annotations

import ssl
import time
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest

from tests.client.hostile_support import (
    MAX_ENDLESS,
    Parties,
    Route,
    Server,
    drip_body_route,
    drip_headers_route,
    endless_route,
    huge_length_route,
    json_route,
    loopback_tls,
    serve,
    session,
    unframed_endless_route,
)
from xaa import ConfigurationError, ProtocolViolation, spec
from xaa.adapters import httpx2_client, httpx_client
from xaa.client import (
    HOP_DISCOVERY,
    HOP_IDP_TOKEN_EXCHANGE,
    HOP_RESOURCE_AS,
    HopDeadlineExceeded,
    ReauthenticationRequired,
    ResponseTooLarge,
    TransportLimits,
)
from xaa.client._http import Request, display_url, hop_name

ADAPTERS: dict[ModuleType, Any] = {httpx: httpx_client, httpx2: httpx2_client}
MODES = [(m, mode) for m in (httpx, httpx2) for mode in ("sync", "async")]
IDS = [f"{m.__name__}-{mode}" for m, mode in MODES]
LIMITS = TransportLimits(max_response_bytes=64 * 1024, hop_deadline=0.5)
WELL_KNOWN = spec.WELL_KNOWN_OAUTH_AS
HOP_AT = {  # where the attack sits -> the hop the error must name
    f"{WELL_KNOWN}/as": HOP_DISCOVERY,
    f"{WELL_KNOWN}/idp": HOP_DISCOVERY,
    "/idp/token": HOP_IDP_TOKEN_EXCHANGE,
    "/as/token": HOP_RESOURCE_AS,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def hostile(server: Server, path: str, route: Route) -> Parties:
    """Honest answers everywhere except ``route`` at ``path``."""
    parties = Parties(server.url)
    server.routes.update(parties.honest_routes())
    server.routes[path] = route
    return parties


async def get_token(
    module: ModuleType,
    mode: str,
    parties: Parties,
    limits: TransportLimits = LIMITS,
    verify: ssl.SSLContext | None = None,
) -> Any:
    adapter = ADAPTERS[module]
    options = {"authorization_server": parties.as_}
    if mode == "sync":
        http = None if verify is None else module.Client(verify=verify)
        client = adapter.XAAClient(parties.config(), session=session(), limits=limits, http=http)
        try:
            return client.get_token(parties.resource, "chat.read", **options)
        finally:
            client.close()
    ahttp = None if verify is None else module.AsyncClient(verify=verify)
    aclient = adapter.AsyncXAAClient(parties.config(), session=session(), limits=limits, http=ahttp)
    try:
        return await aclient.get_token(parties.resource, "chat.read", **options)
    finally:
        await aclient.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_honest_servers_give_a_token(module: ModuleType, mode: str) -> None:
    with serve() as server:
        parties = hostile(server, "/unused", endless_route)
        token = await get_token(module, mode, parties)
    assert token.token == "at-1"


@pytest.mark.anyio
@pytest.mark.parametrize("path", list(HOP_AT))
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_endless_body_is_cut_at_the_cap_while_streaming(
    module: ModuleType, mode: str, path: str
) -> None:
    with serve() as server:
        parties = hostile(server, path, endless_route)
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge) as caught:
            await get_token(module, mode, parties, TransportLimits(64 * 1024, hop_deadline=5))
        elapsed = time.monotonic() - started
    assert caught.value.rule == "response-too-large" and caught.value.limit == 64 * 1024
    assert (caught.value.hop, caught.value.url) == (HOP_AT[path], server.url + path)
    assert elapsed < 3 and server.sent < MAX_ENDLESS / 4  # the kernel buffers some, no more


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_unframed_endless_body_is_cut_at_the_cap(module: ModuleType, mode: str) -> None:
    with serve() as server:
        parties = hostile(server, "/idp/token", unframed_endless_route)
        with pytest.raises(ResponseTooLarge) as caught:
            await get_token(module, mode, parties, TransportLimits(64 * 1024, hop_deadline=5))
    assert caught.value.hop == HOP_IDP_TOKEN_EXCHANGE and server.sent < MAX_ENDLESS / 4


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_oversized_content_length_is_refused_before_reading(
    module: ModuleType, mode: str
) -> None:
    with serve() as server:
        parties = hostile(server, f"{WELL_KNOWN}/idp", huge_length_route)
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge) as caught:
            await get_token(module, mode, parties, TransportLimits(64 * 1024, hop_deadline=3))
        elapsed = time.monotonic() - started
    assert caught.value.hop == HOP_DISCOVERY
    assert elapsed < 2  # refused on the headers, not after the 3 s deadline


@pytest.mark.anyio
@pytest.mark.parametrize("path", [f"{WELL_KNOWN}/as", "/idp/token"])
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_drip_fed_headers_hit_the_hop_deadline(
    module: ModuleType, mode: str, path: str
) -> None:
    """One byte every 20 ms never trips a per-read timeout; the hop deadline does.

    ``/idp/token`` comes after the IdP metadata on the same origin, where a
    kept-alive connection would be reused.
    """
    with serve() as server:
        parties = hostile(server, path, drip_headers_route)
        started = time.monotonic()
        with pytest.raises(HopDeadlineExceeded) as caught:
            await get_token(module, mode, parties)
        elapsed = time.monotonic() - started
    assert (caught.value.hop, caught.value.url) == (HOP_AT[path], server.url + path)
    assert caught.value.deadline == 0.5 and str(caught.value).startswith(HOP_AT[path] + " at ")
    assert elapsed < 2.5
    if mode == "sync":  # each hop on its own socket, which the watchdog can shut down
        assert {s.headers.get("connection") for s in server.seen} == {"close"}


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_drip_fed_headers_over_tls_hit_the_hop_deadline(
    module: ModuleType, mode: str
) -> None:
    """Over TLS the watchdog must shut the TLS socket (the TCP one is detached by then)."""
    server_tls, client_tls = loopback_tls()
    with serve(tls=server_tls) as server:
        parties = hostile(server, "/idp/token", drip_headers_route)
        started = time.monotonic()
        with pytest.raises(HopDeadlineExceeded) as caught:
            await get_token(module, mode, parties, verify=client_tls)
        elapsed = time.monotonic() - started
    assert caught.value.url == server.url + "/idp/token" and elapsed < 2.5


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_drip_fed_body_hits_the_hop_deadline(module: ModuleType, mode: str) -> None:
    with serve() as server:
        parties = hostile(server, "/as/token", drip_body_route)
        started = time.monotonic()
        with pytest.raises(HopDeadlineExceeded) as caught:
            await get_token(module, mode, parties)
        elapsed = time.monotonic() - started
    assert caught.value.hop == HOP_RESOURCE_AS and elapsed < 2.5


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_http_authorization_url_of_a_remote_host_is_not_passed_on(
    module: ModuleType, mode: str
) -> None:
    """RFC 6749 §3.1: the IdP's sign-in page needs TLS; http only on loopback."""
    with serve() as server:
        parties = hostile(server, "/idp/token", json_route({"error": "invalid_grant"}, 400))
        remote = parties.idp_metadata(authorization_endpoint="http://idp.example/authorize")
        server.routes[f"{WELL_KNOWN}/idp"] = json_route(remote)
        with pytest.raises(ReauthenticationRequired) as caught:
            await get_token(module, mode, parties)
    assert caught.value.authorization_url is None


@pytest.mark.anyio
async def test_loopback_http_authorization_url_is_passed_on() -> None:
    with serve() as server:
        parties = hostile(server, "/idp/token", json_route({"error": "invalid_grant"}, 400))
        with pytest.raises(ReauthenticationRequired) as caught:
            await get_token(httpx, "sync", parties)
    assert (caught.value.authorization_url or "").startswith(parties.idp + "/authorize?")


async def fetch_all(module: ModuleType, mode: str, auth: Any, urls: list[str]) -> None:
    try:
        if mode == "sync":
            with module.Client(auth=auth) as api:
                for url in urls:
                    api.get(url)
            return
        async with module.AsyncClient(auth=auth) as api:
            for url in urls:
                await api.get(url)
    finally:
        await auth.aclose()


def authorizations(server: Server, path: str) -> list[str]:
    return [s.headers.get("authorization", "") for s in server.seen if s.path == path]


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_bearer_token_never_goes_to_another_origin(module: ModuleType, mode: str) -> None:
    """RFC 6750 §5.3: the token goes only to the resource it was obtained for."""
    ok = json_route({"ok": True})
    with serve() as server, serve({"/api/data": ok}) as other:
        parties = hostile(server, "/api/data", ok)
        server.routes.update({"/admin": ok, "/apiary": ok})
        auth = ADAPTERS[module].XAAAuth(
            parties.config(),
            resource=parties.resource,
            scope="chat.read",
            session=session(),
            authorization_server=parties.as_,
            limits=LIMITS,
        )
        urls = [parties.resource + "/data", other.url + "/api/data"]
        await fetch_all(module, mode, auth, [*urls, server.url + "/admin", server.url + "/apiary"])
    assert authorizations(server, "/api/data") == ["Bearer at-1"]
    assert authorizations(other, "/api/data") == [""]
    assert authorizations(server, "/admin") == authorizations(server, "/apiary") == [""]


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_also_for_widens_where_the_token_goes(module: ModuleType, mode: str) -> None:
    ok = json_route({"ok": True})
    with serve() as server, serve({"/api/data": ok}) as other:
        parties = hostile(server, "/api/data", ok)
        auth = ADAPTERS[module].XAAAuth(
            parties.config(),
            resource=parties.resource,
            scope="chat.read",
            session=session(),
            authorization_server=parties.as_,
            also_for=[other.url],
        )
        await fetch_all(module, mode, auth, [other.url + "/api/data"])
    assert authorizations(other, "/api/data") == ["Bearer at-1"]


def test_also_for_must_be_absolute_urls() -> None:
    with serve() as server:
        parties = Parties(server.url)
        with pytest.raises(ConfigurationError, match="absolute"):
            httpx_client.XAAAuth(parties.config(), resource=parties.resource, also_for=["/x"])


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_redirect_from_a_token_endpoint_is_not_followed(
    module: ModuleType, mode: str
) -> None:
    with serve() as server, serve() as thief:
        redirect = json_route({}, 307, location=thief.url + "/steal")
        parties = hostile(server, "/idp/token", redirect)
        with pytest.raises(ProtocolViolation) as caught:
            await get_token(module, mode, parties)
    assert caught.value.rule == "no-redirects" and thief.seen == []


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "mode"), MODES, ids=IDS)
async def test_issuer_mix_up_in_metadata_is_refused(module: ModuleType, mode: str) -> None:
    with serve() as server, serve() as other:
        parties = Parties(server.url)
        mixed = json_route(parties.idp_metadata(issuer=other.url + "/idp"))
        parties = hostile(server, f"{WELL_KNOWN}/idp", mixed)
        with pytest.raises(ProtocolViolation) as caught:
            await get_token(module, mode, parties)
    assert caught.value.rule == "issuer-mismatch"
    assert "/idp/token" not in server.paths()


def test_hop_errors_name_the_hop_and_a_url_without_secrets() -> None:
    form = f"grant_type={spec.GRANT_JWT_BEARER}&assertion=secret".encode()
    assert hop_name(Request("POST", "https://as.example/token", body=form)) == HOP_RESOURCE_AS
    assert hop_name(Request("GET", "https://as.example/.well-known/x")) == HOP_DISCOVERY
    assert display_url("https://u:p@as.example:8443/token?code=s#f") == (
        "https://as.example:8443/token"
    )


def test_transport_limits_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="positive"):
        TransportLimits(max_response_bytes=0)
    with pytest.raises(ConfigurationError, match="positive"):
        TransportLimits(hop_deadline=0)


@pytest.mark.parametrize("module", [httpx, httpx2])
@pytest.mark.parametrize(
    ("resource", "also_for"),
    [("http://api.example/api", []), ("https://api.example/api", ["http://files.example"])],
)
def test_bearer_token_is_never_attached_over_plain_http_to_a_remote_host(
    module: ModuleType, resource: str, also_for: list[str]
) -> None:
    """RFC 6750 §5.3: with ``authorization_server=`` no resource metadata is fetched (whose
    https rule would have caught it): ``XAAAuth`` itself refuses an http audience off loopback."""
    with serve() as server:
        parties = Parties(server.url)
        with pytest.raises(ConfigurationError, match="absolute https URL") as refused:
            ADAPTERS[module].XAAAuth(
                parties.config(),
                resource=resource,
                authorization_server=parties.as_,
                also_for=also_for,
            )
    assert "http" in str(refused.value)
