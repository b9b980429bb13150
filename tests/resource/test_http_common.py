"""xaa.adapters._http_common: the request rules every binding shares (headers, form, body cap),
and the Starlette binding's switch-over to them (a repeated Authorization is refused)."""

from __future__ import annotations

import io

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.resource.resource_kit import AS, RESOURCE
from tests.support.servers import serve
from xaa import JwkSet, OAuthError, SigningKey
from xaa.adapters._http_common import (
    RequestTooLarge,
    header_map,
    read_capped,
    require_form,
    wsgi_headers,
)
from xaa.adapters.starlette import requires
from xaa.resource import ResourceServer, protected_resource_metadata_url


def test_header_map_lowercases_and_keeps_the_first_of_other_repeats() -> None:
    headers = header_map([("Accept", "a"), ("accept", "b"), ("DPoP", "p1"), ("dpop", "p2")])
    assert headers == {"accept": "a", "dpop": "p1,p2"}


def test_repeated_authorization_is_invalid_request() -> None:
    with pytest.raises(OAuthError) as info:
        header_map([("Authorization", "Bearer a"), ("authorization", "Bearer a")])
    assert (info.value.error, info.value.status) == ("invalid_request", 400)
    assert info.value.to_response().headers["cache-control"] == "no-store"


def test_wsgi_headers_read_the_environ_and_refuse_a_joined_authorization() -> None:
    environ = {"HTTP_AUTHORIZATION": "Bearer t", "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": "", "HTTP_X_FORWARDED_FOR": "10.0.0.1",
               "wsgi.input": object()}  # fmt: skip
    assert wsgi_headers(environ) == {
        "authorization": "Bearer t", "content-type": "application/json",
        "x-forwarded-for": "10.0.0.1",
    }  # fmt: skip
    with pytest.raises(OAuthError) as info:
        wsgi_headers({"HTTP_AUTHORIZATION": "Basic YTpi, Basic Yzpk"})
    assert (info.value.error, info.value.status) == ("invalid_request", 400)


@pytest.mark.parametrize("value", [None, "", "application/json", "multipart/form-data; b=x"])
def test_a_token_request_must_be_a_form(value: str | None) -> None:
    with pytest.raises(OAuthError) as info:
        require_form(value)
    assert info.value.error == "invalid_request"
    require_form("Application/X-WWW-Form-Urlencoded; charset=utf-8")


def test_read_capped_refuses_a_declared_length_over_the_cap_before_reading() -> None:
    stream = io.BytesIO(b"x" * 10)
    with pytest.raises(RequestTooLarge) as info:
        read_capped(stream, 11, max_bytes=10)
    assert (info.value.error, info.value.status) == ("invalid_request", 413)
    assert stream.tell() == 0


def test_read_capped_counts_an_undeclared_body_and_stops_past_the_cap() -> None:
    assert read_capped(io.BytesIO(b"a=b"), None) == b"a=b"
    assert read_capped(io.BytesIO(b"a=b&c=d"), 3) == b"a=b"
    assert read_capped(io.BytesIO(b""), 0) == b""
    with pytest.raises(RequestTooLarge):
        read_capped(io.BytesIO(b"x" * 100_000), None, max_bytes=20_000)


def test_starlette_guard_refuses_a_repeated_authorization_header() -> None:
    key = SigningKey.generate()
    server = ResourceServer(
        RESOURCE, AS, JwkSet([key.verification_key()]), protected_resource_metadata_url(RESOURCE)
    )

    @requires(server, "chat.read")
    async def api(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/api", api)])
    with serve(app) as base:
        answer = httpx.get(
            base + "/api", headers=[("authorization", "Bearer a"), ("authorization", "Bearer b")]
        )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_request"')
