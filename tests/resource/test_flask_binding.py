"""xaa.adapters.flask through Flask's test client: the resource AS routes, the scope guard,
the IdP's token exchange, and the edge (body cap, repeated Authorization, no-store, no 500)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import flask
import httpx
import pytest

from tests.idp.idp_support import IDP, NOW, Idp, idp
from tests.resource.resource_kit import AS, CLIENT, RESOURCE, SECRET, Kit, make_kit
from tests.support.wsgi import serve_wsgi
from xaa import (
    MAX_FORM_BYTES,
    AccessTokenClaims,
    DpopVerifier,
    JwkSet,
    MemoryAuditSink,
    basic_header,
    encode_form,
    issue_access_token,
    spec,
)
from xaa.adapters.flask import idp_blueprint, requires, resource_blueprint
from xaa.dpop import DpopKey, make_proof
from xaa.idp import idp_metadata
from xaa.resource import (
    ResourceServer,
    authorization_server_metadata,
    protected_resource_metadata,
    protected_resource_metadata_url,
)
from xaa.stores import MemoryReplayStore

__all__ = ["idp"]  # the fixture


def app_for(kit: Kit) -> flask.Flask:
    app = flask.Flask(__name__)
    metadata = authorization_server_metadata(AS, scopes=["chat.read", "chat.history"])
    prm = protected_resource_metadata(RESOURCE, [AS], ["chat.read"])
    app.register_blueprint(
        resource_blueprint(kit.endpoint, metadata, {"keys": [kit.as_key.public_jwk()]}, [prm])
    )
    server = ResourceServer(
        RESOURCE, AS, JwkSet([kit.as_key.verification_key()]),
        protected_resource_metadata_url(RESOURCE),
    )  # fmt: skip

    @app.get("/api/history")
    @requires(server, "chat.history")
    def history() -> dict[str, Any]:
        return {"sub": flask.g.access_token.sub, "actors": flask.g.actors}

    @app.post("/api/write")
    @requires(server, "chat.write")
    def write() -> dict[str, Any]:
        return {"ok": True}

    return app


def fresh(kit: Kit, **changes: Any) -> str:
    now = int(time.time())
    return kit.jag(iat=now - 5, exp=now + 120, **changes)


def form(assertion: str, **extra: str) -> bytes:
    return encode_form({"grant_type": spec.GRANT_JWT_BEARER, "assertion": assertion, **extra})


BASIC = {"authorization": basic_header(CLIENT, SECRET), "content-type": spec.MEDIA_TYPE_FORM}


def assert_refused(answer: Any, status: int, error: str) -> None:
    assert (answer.status_code, answer.get_json()["error"]) == (status, error), answer.data
    assert answer.headers["cache-control"] == "no-store"


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def test_flask_redeems_an_id_jag_and_the_guard_exposes_claims_and_actors(kit: Kit) -> None:
    client = app_for(kit).test_client()
    act = {"sub": "agent-7", "iss": "https://idp.example"}
    answer = client.post("/token", data=form(fresh(kit, act=act)), headers=BASIC)
    assert answer.status_code == 200, answer.data
    assert answer.headers["cache-control"] == "no-store"
    token = answer.get_json()["access_token"]
    seen = client.get("/api/history", headers={"authorization": f"Bearer {token}"})
    assert seen.status_code == 200, seen.data
    assert seen.get_json()["actors"] == ["agent-7"]


def test_flask_guard_refuses_missing_token_and_missing_scope(kit: Kit) -> None:
    client = app_for(kit).test_client()
    missing = client.get("/api/history")
    assert missing.status_code == 401
    assert "resource_metadata=" in missing.headers["www-authenticate"]
    token = client.post("/token", data=form(fresh(kit)), headers=BASIC).get_json()["access_token"]
    denied = client.post("/api/write", headers={"authorization": f"Bearer {token}"})
    assert_refused(denied, 403, "insufficient_scope")
    assert 'scope="chat.write"' in denied.headers["www-authenticate"]


def test_flask_metadata_jwks_and_protected_resource_metadata(kit: Kit) -> None:
    client = app_for(kit).test_client()
    meta = client.get("/.well-known/oauth-authorization-server").get_json()
    assert meta["issuer"] == AS and meta["token_endpoint"] == AS + "/token"
    keys = client.get("/jwks.json").get_json()["keys"]
    assert len(keys) == 1 and "d" not in keys[0]
    prm = client.get("/.well-known/oauth-protected-resource/api").get_json()
    assert prm["resource"] == RESOURCE and prm["authorization_servers"] == [AS]


def test_flask_token_refuses_a_repeated_authorization_header(kit: Kit) -> None:
    client = app_for(kit).test_client()
    headers = [("authorization", basic_header(CLIENT, SECRET)), ("authorization", "Basic eA==")]
    answer = client.post(
        "/token", data=form(fresh(kit)), headers=[*headers, ("content-type", spec.MEDIA_TYPE_FORM)]
    )
    assert_refused(answer, 400, "invalid_request")


def test_flask_guard_refuses_a_repeated_authorization_header(kit: Kit) -> None:
    client = app_for(kit).test_client()
    answer = client.get(
        "/api/history", headers=[("authorization", "Bearer a"), ("authorization", "Bearer b")]
    )
    assert_refused(answer, 400, "invalid_request")
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_request"')


def test_flask_token_body_over_the_cap_is_413(kit: Kit) -> None:
    client = app_for(kit).test_client()
    answer = client.post("/token", data=b"a=" + b"x" * MAX_FORM_BYTES, headers=BASIC)
    assert_refused(answer, 413, "invalid_request")


def test_flask_body_over_the_apps_max_content_length_is_json_413_not_an_html_page(
    kit: Kit,
) -> None:
    """Flask checks ``MAX_CONTENT_LENGTH`` when the request stream is opened: that refusal,
    too, is RFC 6749 JSON with ``no-store`` (the conformance suite's oversized assertion)."""
    app = app_for(kit)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    answer = app.test_client().post("/token", data=b"a=" + b"x" * 4096, headers=BASIC)
    assert_refused(answer, 413, "invalid_request")


def test_flask_token_wrong_content_type_is_invalid_request(kit: Kit) -> None:
    client = app_for(kit).test_client()
    answer = client.post(
        "/token",
        data=json.dumps({"assertion": "x"}),
        headers={"authorization": basic_header(CLIENT, SECRET), "content-type": "application/json"},
    )
    assert_refused(answer, 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b"grant_type=%ff", b"assertion=a&assertion=b", b"grant_type=" + b"%" * 100],
)
def test_flask_token_bad_input_is_4xx_never_500(kit: Kit, body: bytes) -> None:
    client = app_for(kit).test_client()
    answer = client.post("/token", data=body, headers=BASIC)
    assert 400 <= answer.status_code < 500
    assert answer.headers["cache-control"] == "no-store"


def test_flask_idp_token_exchange_and_its_edge(idp: Idp) -> None:
    idp.endpoint.clock = lambda: NOW
    app = flask.Flask(__name__)
    app.register_blueprint(idp_blueprint(idp.endpoint, idp_metadata(IDP)))
    client = app.test_client()
    headers = {"authorization": basic_header("wiki", "wiki-secret"),
               "content-type": spec.MEDIA_TYPE_FORM}  # fmt: skip
    issued = client.post("/token", data=encode_form(idp.form()), headers=headers)
    assert issued.status_code == 200, issued.data
    assert issued.headers["cache-control"] == "no-store"
    assert issued.get_json()["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG
    assert client.get("/.well-known/openid-configuration").get_json()["issuer"] == IDP
    assert client.get("/jwks").get_json()["keys"]
    twice = [*headers.items(), ("authorization", "Basic eA==")]
    assert_refused(client.post("/token", data=encode_form(idp.form()), headers=twice),
                   400, "invalid_request")  # fmt: skip
    big = client.post("/token", data=b"a=" + b"x" * MAX_FORM_BYTES, headers=headers)
    assert_refused(big, 413, "invalid_request")


def test_flask_token_audits_a_refused_request(kit: Kit) -> None:
    client = app_for(kit).test_client()
    client.post("/token", data=form(fresh(kit, aud="https://other.example")), headers=BASIC)
    assert isinstance(kit.audit, MemoryAuditSink)
    assert [e.decision for e in kit.audit.events] == ["denied"]


def test_flask_guard_serves_dpop_bound_tokens(kit: Kit) -> None:
    server = ResourceServer(
        RESOURCE, AS, JwkSet([kit.as_key.verification_key()]),
        protected_resource_metadata_url(RESOURCE), dpop=DpopVerifier(MemoryReplayStore()),
    )  # fmt: skip
    app = flask.Flask(__name__)

    @app.get("/api/history")
    @requires(server, "chat.history")
    def history() -> dict[str, Any]:
        return {"sub": flask.g.access_token.sub}

    key, now = DpopKey.generate(), int(time.time())
    claims = AccessTokenClaims.model_validate(
        {"iss": AS, "sub": "acct-1", "aud": RESOURCE, "client_id": CLIENT, "jti": "at-1",
         "iat": now, "exp": now + 300, "scope": "chat.history", "cnf": {"jkt": key.jkt}}
    )  # fmt: skip
    token = issue_access_token(claims, kit.as_key)
    proof = make_proof(key, "GET", server.htu("/api/history"), access_token=token)
    headers = {"authorization": f"DPoP {token}", "dpop": proof}
    client = app.test_client()
    assert client.get("/api/history", headers=headers).get_json() == {"sub": "acct-1"}
    again = client.get("/api/history", headers=headers)  # the same proof twice
    assert_refused(again, 401, "invalid_dpop_proof")
    assert again.headers["www-authenticate"].startswith("DPoP ")


def test_flask_chunked_body_over_the_cap_is_413_over_the_wire(kit: Kit) -> None:
    """A body without Content-Length is counted as it streams: the binding's cap, and the
    app's own smaller MAX_CONTENT_LENGTH, both answer 413 JSON."""
    app = app_for(kit)

    def chunks(size: int) -> Iterator[bytes]:
        yield b"a="
        for _ in range(size // 1000):
            yield b"x" * 1000

    with serve_wsgi(app) as base:
        answer = httpx.post(base + "/token", content=chunks(MAX_FORM_BYTES + 5000), headers=BASIC)
        assert (answer.status_code, answer.json()["error"]) == (413, "invalid_request")
        assert answer.headers["cache-control"] == "no-store"
        app.config["MAX_CONTENT_LENGTH"] = 1000
        answer = httpx.post(base + "/token", content=chunks(5000), headers=BASIC)
        assert (answer.status_code, answer.json()["error"]) == (413, "invalid_request")
