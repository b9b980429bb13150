"""xaa.adapters.authlib.XaaIdJagGrant on authlib's Flask and Django AuthorizationServer:
every refusal with its exact code, status and ``Cache-Control: no-store``; the ``jti`` is
claimed last, so a refused request does not spend the ID-JAG."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer

from examples.authlib_vendor.models import VendorDb
from tests.resource.resource_kit import AS, CLIENT, IDP, RESOURCE, SECRET, Kit, make_kit
from tests.support.django_setup import configure_django
from xaa import IdJagClaims, MemoryAuditSink, basic_header, encode_form, spec
from xaa.adapters.authlib import IdJagGrantConfig, XaaIdJagGrant
from xaa.resource import TrustedIssuer, TrustRegistry
from xaa.resource._redemption import ID_JAG_EXPIRED, ID_JAG_OTHER_CLIENT, ISSUER_NOT_TRUSTED
from xaa.stores import MemoryReplayStore

SCOPE = "chat.read chat.history"


class Grant(XaaIdJagGrant):
    db: VendorDb
    refuse_users: frozenset[str] = frozenset()

    def resolve_user(self, claims: IdJagClaims) -> int | None:
        if claims.sub in self.refuse_users:
            return None
        return self.db.user_for(claims.iss, claims.tenant, claims.sub, claims.email)

    def check_id_jag_permission(self, client: Any, user: Any, scopes: list[str]) -> bool:
        return "chat.admin" not in scopes


def setup(kit: Kit, tmp_path: Path) -> tuple[type[Grant], VendorDb, MemoryAuditSink]:
    db = VendorDb(tmp_path / "vendor.sqlite3")
    db.add_client(CLIENT, SECRET, grant_types=(spec.GRANT_JWT_BEARER,), scope=SCOPE + " chat.admin")
    db.add_client("other", "other-secret", grant_types=(spec.GRANT_JWT_BEARER,), scope=SCOPE)
    db.add_client("code-only", "s", grant_types=("authorization_code",), scope=SCOPE)
    audit = MemoryAuditSink()
    trust = TrustRegistry([TrustedIssuer(IDP, jwks={"keys": [kit.idp_key.public_jwk()]})])
    config = IdJagGrantConfig(AS, trust, MemoryReplayStore(), resources=[RESOURCE], audit=audit)
    grant = Grant.configure(config)
    assert issubclass(grant, Grant)
    grant.db = db
    return grant, db, audit


@pytest.fixture
def kit() -> Kit:
    return make_kit()


@pytest.fixture
def flask_client(kit: Kit, tmp_path: Path) -> Iterator[Any]:
    grant, db, _ = setup(kit, tmp_path)
    app = flask.Flask(__name__)

    def save_token(token: dict[str, Any], request: Any) -> None:
        db.save_token(token, request.client.client_id, request.user)

    server = AuthorizationServer(app, query_client=db.query_client, save_token=save_token)
    server.register_grant(grant)
    app.add_url_rule("/token", view_func=server.create_token_response, methods=["POST"])
    yield app.test_client()


def fresh(kit: Kit, **changes: Any) -> str:
    now = int(time.time())
    return kit.jag(**{"iat": now - 5, "exp": now + 120, **changes})


def post(client: Any, assertion: str, *, auth: tuple[str, str] = (CLIENT, SECRET),
         body: bytes | None = None, **extra: Any) -> Any:  # fmt: skip
    form = {"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion, **extra}
    return client.post(
        "/token", data=body if body is not None else encode_form(form),
        headers={"authorization": basic_header(*auth), "content-type": spec.MEDIA_TYPE_FORM},
    )  # fmt: skip


def assert_refused(answer: Any, status: int, error: str) -> None:
    assert (answer.status_code, answer.get_json()["error"]) == (status, error), answer.data
    assert answer.headers["cache-control"] == "no-store"
    assert "access_token" not in answer.get_json()


def test_authlib_grant_issues_a_token_within_the_id_jag(flask_client: Any, kit: Kit) -> None:
    answer = post(flask_client, fresh(kit), scope="chat.read")
    assert answer.status_code == 200, answer.data
    token = answer.get_json()
    assert token["scope"] == "chat.read" and "refresh_token" not in token
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("changes", "extra", "status", "error"),
    [
        ({"iss": "https://rogue.example"}, {}, 400, "invalid_grant"),
        ({"aud": [AS, "https://other.example"]}, {}, 400, "invalid_grant"),
        ({"client_id": "other"}, {}, 400, "invalid_grant"),
        ({"exp": int(time.time()) + 86_400}, {}, 400, "invalid_grant"),  # over 300 s
        ({"cnf": {"jkt": "x" * 43}}, {}, 400, "invalid_grant"),
        ({}, {"scope": "chat.read chat.write"}, 400, "invalid_scope"),
        ({}, {"resource": "https://unserved.example/api"}, 400, "invalid_target"),
        ({"resource": "https://unserved.example/api"}, {}, 400, "invalid_target"),
        ({"sub": "nobody"}, {}, 400, "invalid_grant"),
        ({"scope": "chat.admin"}, {}, 400, "invalid_grant"),
    ],
    ids=["untrusted-iss", "two-audiences", "other-client", "lifetime", "cnf", "scope",
         "resource-param", "resource-claim", "unknown-user", "vendor-policy"],
)  # fmt: skip
def test_authlib_grant_refusals(
    flask_client: Any, kit: Kit, changes: dict[str, Any], extra: dict[str, str],
    status: int, error: str,
) -> None:  # fmt: skip
    Grant.refuse_users = frozenset({"nobody"})
    try:
        assert_refused(post(flask_client, fresh(kit, **changes), **extra), status, error)
    finally:
        Grant.refuse_users = frozenset()


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"iss": "https://rogue.example"}, ISSUER_NOT_TRUSTED),
        ({"iat": int(time.time()) - 200, "exp": int(time.time()) - 100}, ID_JAG_EXPIRED),
        ({"client_id": "other"}, ID_JAG_OTHER_CLIENT),
    ],
    ids=["untrusted-iss", "expired", "other-client"],
)
def test_authlib_grant_says_why_like_the_jwt_bearer_endpoint(
    flask_client: Any, kit: Kit, changes: dict[str, Any], description: str
) -> None:
    """The grant runs the endpoint's own checks (xaa/resource/_redemption.py), so a client
    reads the same public reason on either server (it got the generic one for an expired
    ID-JAG or one issued to another client)."""
    answer = post(flask_client, fresh(kit, **changes))
    assert_refused(answer, 400, "invalid_grant")
    assert answer.get_json()["error_description"] == description


def test_authlib_grant_refuses_repeated_parameters(flask_client: Any, kit: Kit) -> None:
    jag = fresh(kit)
    body = encode_form({"grant_type": spec.GRANT_JWT_BEARER, "assertion": [jag, jag]})
    assert_refused(post(flask_client, jag, body=body), 400, "invalid_request")


def test_authlib_grant_refuses_two_client_authentication_methods(
    flask_client: Any, kit: Kit
) -> None:
    answer = post(flask_client, fresh(kit), client_id=CLIENT, client_secret=SECRET)
    assert_refused(answer, 400, "invalid_request")


def test_authlib_grant_refuses_a_client_without_the_grant(flask_client: Any, kit: Kit) -> None:
    answer = post(flask_client, fresh(kit, client_id="code-only"), auth=("code-only", "s"))
    assert_refused(answer, 400, "unauthorized_client")


def test_authlib_grant_claims_the_jti_last(flask_client: Any, kit: Kit) -> None:
    """A request refused for its scope leaves the ID-JAG unspent; a success spends it."""
    jag = fresh(kit)
    assert_refused(post(flask_client, jag, scope="chat.write"), 400, "invalid_scope")
    assert post(flask_client, jag).status_code == 200
    assert_refused(post(flask_client, jag), 400, "invalid_grant")


def test_authlib_grant_audits_both_decisions(kit: Kit, tmp_path: Path) -> None:
    grant, db, audit = setup(kit, tmp_path)
    app = flask.Flask(__name__)
    server = AuthorizationServer(
        app, query_client=db.query_client,
        save_token=lambda token, request: db.save_token(token, CLIENT, request.user),
    )  # fmt: skip
    server.register_grant(grant)
    app.add_url_rule("/token", view_func=server.create_token_response, methods=["POST"])
    client = app.test_client()
    jag = fresh(kit)
    post(client, jag)
    post(client, jag)
    assert [(e.decision, e.client_id, e.issuer) for e in audit.events] == [
        ("issued", CLIENT, IDP), ("denied", CLIENT, IDP),
    ]  # fmt: skip
    assert jag not in str([e.model_dump() for e in audit.events])


def test_authlib_grant_on_the_django_integration(kit: Kit, tmp_path: Path) -> None:
    configure_django()
    from authlib.integrations.django_oauth2 import AuthorizationServer as DjangoServer
    from django.http import HttpRequest, HttpResponse
    from django.test import Client, override_settings
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    grant, db, _ = setup(kit, tmp_path)

    class Server(DjangoServer):  # type: ignore[misc]
        def query_client(self, client_id: str) -> Any:
            return db.query_client(client_id)

        def save_token(self, token: dict[str, Any], request: Any) -> None:
            db.save_token(token, request.client.client_id, request.user)

    server = Server(client_model=None, token_model=None)  # the vendor's models in real life
    server.register_grant(grant)

    @csrf_exempt
    def token(request: HttpRequest) -> HttpResponse:
        response: HttpResponse = server.create_token_response(request)
        return response

    class Urls:
        urlpatterns = [path("token", token)]

    jag = fresh(kit)
    headers = {"authorization": basic_header(CLIENT, SECRET)}
    form = encode_form({"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag})
    with override_settings(ROOT_URLCONF=Urls, MIDDLEWARE=[]):
        client = Client()
        ok = client.post(
            "/token", form, content_type=spec.MEDIA_TYPE_FORM, headers=headers, secure=True
        )
        assert ok.status_code == 200, ok.content
        again = client.post(
            "/token", form, content_type=spec.MEDIA_TYPE_FORM, headers=headers, secure=True
        )
        assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
        assert again["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "assertion",
    ["a.b.c", "not-a-jwt", "é.é.é", "eyJ" + "A" * 20_000 + ".e30.", "a.b.c.d.e", "...", "%00"],
)
def test_authlib_grant_garbage_assertion_is_invalid_grant_never_500(
    flask_client: Any, assertion: str
) -> None:
    assert_refused(post(flask_client, assertion), 400, "invalid_grant")
