"""xaa.adapters.django through Django's test client: the resource AS URLs, the ``requires``
decorator, the middleware, the IdP's token exchange, and the edge (body cap, repeated
Authorization, no-store, no 500)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.idp.idp_support import IDP, NOW, Idp, idp
from tests.resource.resource_kit import AS, CLIENT, RESOURCE, SECRET, Kit, make_kit
from tests.support.django_setup import configure_django

configure_django()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from xaa import AccessTokenClaims, JwkSet, encode_form, issue_access_token, spec  # noqa: E402
from xaa._dpop import DpopKey, make_proof  # noqa: E402
from xaa._dpop_server import DpopVerifier  # noqa: E402
from xaa._forms import MAX_FORM_BYTES, basic_header  # noqa: E402
from xaa.adapters.django import idp_urls, requires, resource_urls  # noqa: E402
from xaa.idp import idp_metadata  # noqa: E402
from xaa.resource import (  # noqa: E402
    ResourceServer,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import MemoryReplayStore  # noqa: E402

__all__ = ["idp"]  # the fixture

MIDDLEWARE = ["xaa.adapters.django.AccessTokenMiddleware"]


class Urls:
    """A URLconf object (Django accepts any object with ``urlpatterns``)."""

    urlpatterns: list[Any] = []


def server_for(kit: Kit) -> ResourceServer:
    return ResourceServer(
        RESOURCE, AS, JwkSet([kit.as_key.verification_key()]),
        protected_resource_metadata_url(RESOURCE), dpop=DpopVerifier(MemoryReplayStore()),
    )  # fmt: skip


def urls_for(kit: Kit, server: ResourceServer) -> type[Urls]:
    metadata = authorization_server_metadata(AS, scopes=["chat.read", "chat.history"])
    prm = protected_resource_metadata(RESOURCE, [AS], ["chat.read"])

    @requires(server, "chat.history")
    def history(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": request.access_token.sub, "actors": request.actors})

    @requires(lambda: server, "chat.write")
    def write(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    def mw_read(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": request.access_token.sub})

    @requires(server, "chat.history")
    def mw_history(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"actors": request.actors})

    @requires(server, "chat.write")
    def mw_write(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    class Routes(Urls):
        urlpatterns = [
            *resource_urls(kit.endpoint, metadata, {"keys": [kit.as_key.public_jwk()]}, [prm]),
            path("api/history", history),
            path("api/write", write),
            path("mw/read", mw_read),
            path("mw/history", mw_history),
            path("mw/write", mw_write),
        ]

    return Routes


@pytest.fixture
def kit() -> Kit:
    return make_kit()


@pytest.fixture
def server(kit: Kit) -> ResourceServer:
    return server_for(kit)


@pytest.fixture
def client(kit: Kit, server: ResourceServer) -> Iterator[Client]:
    with override_settings(
        ROOT_URLCONF=urls_for(kit, server),
        MIDDLEWARE=MIDDLEWARE,
        XAA_RESOURCE_SERVER=lambda: server,
        XAA_PROTECTED_PATHS={"/mw/": ["chat.read"]},
    ):
        yield Client()


def fresh(kit: Kit, **changes: Any) -> str:
    now = int(time.time())
    return kit.jag(iat=now - 5, exp=now + 120, **changes)


def form(assertion: str) -> bytes:
    return encode_form({"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion})


BASIC = {"authorization": basic_header(CLIENT, SECRET)}


def token(client: Client, kit: Kit, **changes: Any) -> str:
    answer = client.post(
        "/token", form(fresh(kit, **changes)), content_type=spec.MEDIA_TYPE_FORM, headers=BASIC
    )
    assert answer.status_code == 200, answer.content
    assert answer["cache-control"] == "no-store"
    return str(answer.json()["access_token"])


def assert_refused(answer: Any, status: int, error: str) -> None:
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.content
    assert answer["cache-control"] == "no-store"


def test_django_redeems_and_the_decorator_exposes_claims_and_actors(
    client: Client, kit: Kit
) -> None:
    access = token(client, kit, act={"sub": "agent-7", "iss": "https://idp.example"})
    seen = client.get("/api/history", headers={"authorization": f"Bearer {access}"})
    assert seen.status_code == 200, seen.content
    assert seen.json()["actors"] == ["agent-7"]


def test_django_decorator_refuses_missing_token_and_scope(client: Client, kit: Kit) -> None:
    missing = client.get("/api/history")
    assert missing.status_code == 401 and "resource_metadata=" in missing["www-authenticate"]
    access = token(client, kit)
    denied = client.post("/api/write", headers={"authorization": f"Bearer {access}"})
    assert_refused(denied, 403, "insufficient_scope")


def test_django_middleware_guards_its_prefix(client: Client, kit: Kit) -> None:
    missing = client.get("/mw/read")
    assert missing.status_code == 401 and "resource_metadata=" in missing["www-authenticate"]
    access = token(client, kit)
    seen = client.get("/mw/read", headers={"authorization": f"Bearer {access}"})
    assert seen.status_code == 200 and seen.json()["sub"]


def test_django_metadata_jwks_and_protected_resource_metadata(client: Client) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == AS and meta["token_endpoint"] == AS + "/token"
    assert "d" not in client.get("/jwks.json").json()["keys"][0]
    prm = client.get("/.well-known/oauth-protected-resource/api").json()
    assert prm["resource"] == RESOURCE
    refused = client.get("/token")
    assert refused.status_code == 405 and refused["allow"] == "POST"


def test_django_token_refuses_a_repeated_authorization_header(client: Client, kit: Kit) -> None:
    twice = basic_header(CLIENT, SECRET) + ", Basic eA=="  # how a WSGI server joins two
    answer = client.post(
        "/token", form(fresh(kit)), content_type=spec.MEDIA_TYPE_FORM,
        headers={"authorization": twice},
    )  # fmt: skip
    assert_refused(answer, 400, "invalid_request")


def test_django_guards_refuse_a_repeated_authorization_header(client: Client) -> None:
    for url in ("/api/history", "/mw/read"):
        answer = client.get(url, headers={"authorization": "Bearer a, Bearer b"})
        assert_refused(answer, 400, "invalid_request")
        assert answer["www-authenticate"].startswith('Bearer error="invalid_request"')


def test_django_token_body_over_the_cap_is_413(client: Client) -> None:
    answer = client.post(
        "/token", b"a=" + b"x" * MAX_FORM_BYTES, content_type=spec.MEDIA_TYPE_FORM, headers=BASIC
    )
    assert_refused(answer, 413, "invalid_request")


@pytest.mark.parametrize("body", [b"\xff\xfe", b"grant_type=%ff", b"assertion=a&assertion=b"])
def test_django_token_bad_input_is_4xx_never_500(client: Client, body: bytes) -> None:
    answer = client.post("/token", body, content_type=spec.MEDIA_TYPE_FORM, headers=BASIC)
    assert 400 <= answer.status_code < 500 and answer["cache-control"] == "no-store"


def test_django_token_wrong_content_type_is_invalid_request(client: Client) -> None:
    answer = client.post("/token", b"{}", content_type="application/json", headers=BASIC)
    assert_refused(answer, 400, "invalid_request")


def test_django_idp_token_exchange_and_its_edge(idp: Idp) -> None:
    idp.endpoint.clock = lambda: NOW

    class Routes(Urls):
        urlpatterns = idp_urls(idp.endpoint, idp_metadata(IDP))

    headers = {"authorization": basic_header("wiki", "wiki-secret")}
    with override_settings(ROOT_URLCONF=Routes, MIDDLEWARE=[]):
        client = Client()
        issued = client.post(
            "/token", encode_form(idp.form()), content_type=spec.MEDIA_TYPE_FORM, headers=headers
        )
        assert issued.status_code == 200, issued.content
        assert issued["cache-control"] == "no-store"
        assert client.get("/.well-known/oauth-authorization-server").json()["issuer"] == IDP
        assert client.get("/jwks").json()["keys"]
        big = client.post(
            "/token", b"a=" + b"x" * MAX_FORM_BYTES, content_type=spec.MEDIA_TYPE_FORM,
            headers=headers,
        )  # fmt: skip
        assert_refused(big, 413, "invalid_request")


def dpop_token(kit: Kit, key: DpopKey, scope: str) -> str:
    now = int(time.time())
    claims = AccessTokenClaims.model_validate(
        {"iss": AS, "sub": "acct-1", "aud": RESOURCE, "client_id": CLIENT, "jti": "at-1",
         "iat": now, "exp": now + 300, "scope": scope, "cnf": {"jkt": key.jkt},
         "act": {"sub": "agent-7"}}
    )  # fmt: skip
    return issue_access_token(claims, kit.as_key)


def dpop_headers(
    server: ResourceServer, key: DpopKey, token: str, method: str, path: str
) -> dict[str, str]:
    proof = make_proof(key, method, server.htu(path), access_token=token)
    return {"authorization": f"DPoP {token}", "dpop": proof}


def test_django_middleware_then_decorator_checks_a_dpop_proof_once(
    client: Client, kit: Kit, server: ResourceServer
) -> None:
    key = DpopKey.generate()
    token = dpop_token(kit, key, "chat.read chat.history")
    seen = client.get("/mw/history", headers=dpop_headers(server, key, token, "GET", "/mw/history"))
    assert seen.status_code == 200, seen.content  # the proof's jti was claimed once, not twice
    assert seen.json()["actors"] == ["agent-7"]
    denied = client.get("/mw/write", headers=dpop_headers(server, key, token, "GET", "/mw/write"))
    assert_refused(denied, 403, "insufficient_scope")
    assert denied["www-authenticate"].startswith('DPoP error="insufficient_scope"')
    assert 'scope="chat.write"' in denied["www-authenticate"]
    replayed = dpop_headers(server, key, token, "GET", "/mw/read")
    assert client.get("/mw/read", headers=replayed).status_code == 200
    assert_refused(client.get("/mw/read", headers=replayed), 401, "invalid_dpop_proof")
