"""The reference IdP over real HTTP on loopback: SSO, token exchange, admin commands."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_idp.app import create_app
from reference_idp.config import load_config
from reference_idp.demo import CHAT_API, CHAT_AS, WIKI_REDIRECT, login
from reference_idp.store import Store
from tests.support.servers import free_port, serve
from xaa import (
    JwkSet,
    LoginThrottle,
    SigningKey,
    basic_header,
    encode_form,
    make_client_assertion,
    spec,
    verify_id_jag,
    verify_id_token,
)
from xaa.cli import main as xaa_main

pytestmark = pytest.mark.e2e

AGENT_REDIRECT = "http://127.0.0.1:9701/callback"
AGENT_KEY = SigningKey.from_jwk(load_config().demo["agent_private_jwk"])
FORM = {"content-type": spec.MEDIA_TYPE_FORM}
WIKI_BASIC = {"authorization": basic_header("wiki", "wiki-secret"), **FORM}


@contextlib.contextmanager
def running_idp(db: str = ":memory:") -> Iterator[tuple[str, Store]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    store = Store(db)
    app = create_app(load_config().with_issuer(issuer), store)
    RUNNING_APPS.append(app)
    with serve(app, port=port) as base:
        assert base == issuer
        yield issuer, store
    RUNNING_APPS.remove(app)
    store.close()


RUNNING_APPS: list[Any] = []


@pytest.fixture
def idp() -> Iterator[tuple[str, Store]]:
    with running_idp() as running:
        yield running


OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


class Browser:
    """A client app and its user's browser, talking to the IdP."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.http = httpx.Client(timeout=10, follow_redirects=False)
        OPEN.append(self.http)

    def jwks(self) -> JwkSet:
        return JwkSet.from_jwks(self.http.get(f"{self.issuer}/jwks").json())

    def token(
        self, params: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.http.post(
            f"{self.issuer}/token", content=encode_form(params), headers=headers or WIKI_BASIC
        )

    def sso(self, username: str = "alice", client: str = "wiki") -> dict[str, Any]:
        redirect = WIKI_REDIRECT if client == "wiki" else AGENT_REDIRECT
        self.http.cookies.clear()
        auth = login(
            self.http,
            self.issuer,
            username=username,
            password=username,
            client_id=client,
            redirect_uri=redirect,
        )
        params = {
            "grant_type": "authorization_code",
            "code": auth["code"],
            "code_verifier": auth["code_verifier"],
            "redirect_uri": redirect,
        }
        resp = self.token(params, self.client_auth(client, params))
        assert resp.status_code == 200, resp.text
        return {**resp.json(), **auth}

    def client_auth(self, client: str, params: dict[str, Any]) -> dict[str, str]:
        if client == "wiki":
            return WIKI_BASIC
        params["client_assertion_type"] = spec.CLIENT_ASSERTION_TYPE_JWT_BEARER
        params["client_assertion"] = make_client_assertion(
            "agent", AGENT_KEY, audience=self.issuer, now=time.time()
        )
        return FORM

    def exchange(self, subject_token: str, client: str = "wiki", **changes: Any) -> httpx.Response:
        params: dict[str, Any] = {
            "grant_type": spec.GRANT_TOKEN_EXCHANGE,
            "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
            "audience": CHAT_AS,
            "resource": CHAT_API,
            "scope": "chat.read chat.history",
            "subject_token": subject_token,
            "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
        }
        params.update(changes)
        params = {k: v for k, v in params.items() if v is not None}
        return self.token(params, self.client_auth(client, params))


def assert_oauth_error(resp: httpx.Response, code: str, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == code
    assert resp.headers["cache-control"] == "no-store"
    assert "access_token" not in resp.json()


def test_sso_then_token_exchange_with_client_secret_basic(idp: tuple[str, Store]) -> None:
    issuer, store = idp
    b = Browser(issuer)
    tokens = b.sso()
    keys = b.jwks()
    claims = verify_id_token(tokens["id_token"], keys=keys, issuer=issuer, client_id="wiki").claims
    assert claims.nonce == tokens["nonce"] and claims.email == "alice@acme.example"
    assert claims.auth_time is not None and claims.acr and claims.amr == ["pwd"]
    resp = b.exchange(tokens["id_token"])
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["issued_token_type"] == spec.TOKEN_TYPE_ID_JAG and body["token_type"] == "N_A"
    assert "refresh_token" not in body
    jag = verify_id_jag(
        body["access_token"], keys=keys, issuer=issuer, audience=CHAT_AS, client_id="wiki-at-chat"
    )
    assert jag.claims.sub == "alice" and jag.claims.scope == "chat.history chat.read"
    assert jag.claims.resource == CHAT_API and jag.claims.auth_time == claims.auth_time
    event = store.audit_events(1)[0]
    assert event.decision == "issued" and event.jti == jag.claims.jti
    assert body["access_token"] not in "".join(e.model_dump_json() for e in store.audit_events())


def test_sso_then_token_exchange_with_private_key_jwt(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    b = Browser(issuer)
    tokens = b.sso(client="agent")
    resp = b.exchange(tokens["id_token"], client="agent", audience="urn:xaa:demo:chat")
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "chat.read"  # narrowed: the agent may only read
    jag = verify_id_jag(
        resp.json()["access_token"],
        keys=b.jwks(),
        issuer=issuer,
        audience=CHAT_AS,
        client_id="agent-at-chat",
    )
    assert jag.claims.scope == "chat.read"


def test_bob_is_narrowed_to_chat_read(idp: tuple[str, Store]) -> None:
    b = Browser(idp[0])
    resp = b.exchange(b.sso("bob")["id_token"], scope="chat.read chat.write")
    assert resp.json()["scope"] == "chat.read"


def test_denials_are_audited(idp: tuple[str, Store]) -> None:
    issuer, store = idp
    b = Browser(issuer)
    token = b.sso()["id_token"]
    assert_oauth_error(b.exchange(token, audience="https://evil.example"), "invalid_target")
    event = store.audit_events(1)[0]
    assert (event.decision, event.reason, event.client_id) == ("denied", "invalid_target", "wiki")
    assert_oauth_error(b.exchange(token, client="agent"), "invalid_request")  # aud is wiki


def test_login_form_rejects_wrong_password_and_bad_csrf(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    http = httpx.Client(timeout=10, follow_redirects=False)
    OPEN.append(http)
    params = {
        "response_type": "code",
        "client_id": "wiki",
        "redirect_uri": WIKI_REDIRECT,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = http.get(f"{issuer}/authorize", params=params)
    assert (
        page.status_code == 200
        and 'name="username"' in page.text
        and 'name="password"' in page.text
    )
    hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    wrong = http.post(f"{issuer}/login", data={**hidden, "username": "alice", "password": "x"})
    assert wrong.status_code == 401 and "location" not in wrong.headers
    forged = {**hidden, "csrf_token": "forged", "username": "alice", "password": "alice"}
    assert http.post(f"{issuer}/login", data=forged).status_code == 403
    http.cookies.clear()  # the CSRF cookie is gone: a cross-site post
    bare = {**hidden, "username": "alice", "password": "alice"}
    assert httpx.post(f"{issuer}/login", data=bare).status_code == 403


@pytest.mark.parametrize(
    "change, error",
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
    ],
)
def test_authorize_errors_redirect_back(
    idp: tuple[str, Store], change: dict[str, Any], error: str
) -> None:
    issuer, _ = idp
    params = {
        "response_type": "code",
        "client_id": "wiki",
        "redirect_uri": WIKI_REDIRECT,
        "scope": "openid",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **change,
    }
    resp = httpx.get(f"{issuer}/authorize", params={k: v for k, v in params.items() if v})
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(WIKI_REDIRECT) and f"error={error}" in location and "s1" in location


def test_authorize_unknown_redirect_uri_is_not_followed(idp: tuple[str, Store]) -> None:
    resp = httpx.get(
        f"{idp[0]}/authorize",
        params={"client_id": "wiki", "redirect_uri": "https://evil.example/cb"},
    )
    assert resp.status_code == 400 and "location" not in resp.headers


def test_code_is_single_use_and_pkce_bound(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    b = Browser(issuer)
    auth = login(b.http, issuer)
    params = {
        "grant_type": "authorization_code",
        "code": auth["code"],
        "code_verifier": "x" * 43,
        "redirect_uri": WIKI_REDIRECT,
    }
    assert_oauth_error(b.token(params), "invalid_grant")
    params["code_verifier"] = auth["code_verifier"]
    assert_oauth_error(b.token(params), "invalid_grant")  # the failed try used it up


def test_reused_code_revokes_its_refresh_tokens(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    b = Browser(issuer)
    auth = login(b.http, issuer)
    params = {
        "grant_type": "authorization_code",
        "code": auth["code"],
        "code_verifier": auth["code_verifier"],
        "redirect_uri": WIKI_REDIRECT,
    }
    first = b.token(params)
    assert first.status_code == 200
    assert_oauth_error(b.token(params), "invalid_grant")
    refresh = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    assert_oauth_error(b.token(refresh), "invalid_grant")


def test_refresh_token_rotation_and_reuse_detection(idp: tuple[str, Store]) -> None:
    b = Browser(idp[0])
    first = b.sso()["refresh_token"]
    wider = {"grant_type": "refresh_token", "refresh_token": first, "scope": "openid profile"}
    assert_oauth_error(b.token(wider), "invalid_grant")  # and the token still works:
    narrower = b.token({"grant_type": "refresh_token", "refresh_token": first, "scope": "openid"})
    assert narrower.status_code == 200 and narrower.json()["scope"] == "openid"
    assert narrower.json()["refresh_token"] != first and "id_token" in narrower.json()
    reuse = b.token({"grant_type": "refresh_token", "refresh_token": first})
    assert_oauth_error(reuse, "invalid_grant")
    again = b.token(
        {"grant_type": "refresh_token", "refresh_token": narrower.json()["refresh_token"]}
    )
    assert_oauth_error(again, "invalid_grant")  # the whole family was revoked


def test_refresh_token_as_subject_and_revocation(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    b = Browser(issuer)
    rt = b.sso()["refresh_token"]
    resp = b.exchange(rt, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert resp.status_code == 200, resp.text
    agent_try = b.exchange(rt, client="agent", subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert_oauth_error(agent_try, "invalid_request")
    revoked = b.http.post(
        f"{issuer}/revoke", content=encode_form({"token": rt}), headers=WIKI_BASIC
    )
    assert revoked.status_code == 200
    after = b.exchange(rt, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert_oauth_error(after, "invalid_request")


def test_rotated_refresh_token_as_exchange_subject_revokes_its_family(
    idp: tuple[str, Store],
) -> None:
    """Draft-03 §4.3.3: validated as at the refresh grant, reuse detection included
    (RFC 9700 §4.14.2): a rotated token presented for an ID-JAG revokes its family."""
    b = Browser(idp[0])
    first = b.sso()["refresh_token"]
    rotated = b.token({"grant_type": "refresh_token", "refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()["refresh_token"]
    reuse = b.exchange(first, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert_oauth_error(reuse, "invalid_request")
    # The family is gone: the newest token gets no ID-JAG and no longer refreshes.
    jag = b.exchange(newest, subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN)
    assert_oauth_error(jag, "invalid_request")
    refresh = b.token({"grant_type": "refresh_token", "refresh_token": newest})
    assert_oauth_error(refresh, "invalid_grant")


def test_idp_never_redeems_its_own_id_jag(idp: tuple[str, Store]) -> None:
    b = Browser(idp[0])
    jag = b.exchange(b.sso()["id_token"]).json()["access_token"]
    bearer = b.token({"grant_type": spec.GRANT_JWT_BEARER, "assertion": jag})
    assert_oauth_error(bearer, "unsupported_grant_type")
    assert_oauth_error(b.exchange(jag), "invalid_request")  # an ID-JAG is not an ID token
    labelled = b.exchange(jag, subject_token_type=spec.TOKEN_TYPE_ID_JAG)
    assert_oauth_error(labelled, "invalid_request")


def test_userinfo(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    b = Browser(issuer)
    at = b.sso()["access_token"]
    info = httpx.get(f"{issuer}/userinfo", headers={"authorization": f"Bearer {at}"})
    assert info.json() == {"sub": "alice", "email": "alice@acme.example", "email_verified": True}
    assert httpx.get(f"{issuer}/userinfo").status_code == 401
    id_token = b.sso()["id_token"]
    wrong = httpx.get(f"{issuer}/userinfo", headers={"authorization": f"Bearer {id_token}"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"


def test_metadata_and_jwks(idp: tuple[str, Store]) -> None:
    issuer, _ = idp
    oauth = httpx.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    oidc = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
    assert oauth == oidc and oauth["issuer"] == issuer
    assert spec.GRANT_TOKEN_EXCHANGE in oauth["grant_types_supported"]
    assert spec.GRANT_JWT_BEARER not in oauth["grant_types_supported"]
    assert oauth["identity_chaining_requested_token_types_supported"] == [spec.TOKEN_TYPE_ID_JAG]
    assert "none" not in oauth["token_endpoint_auth_methods_supported"]
    jwks = httpx.get(f"{issuer}/jwks").json()["keys"]
    assert len(jwks) == 2 and len({k["kid"] for k in jwks}) == 2  # current + next
    assert all("d" not in k and k["kty"] == "EC" for k in jwks)


def test_suspend_is_a_kill_switch_and_resume_restores(tmp_path: Path) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, _):
        b = Browser(issuer)
        token = b.sso()["id_token"]
        assert b.exchange(token).status_code == 200
        assert xaa_main(["idp", "clients", "suspend", "wiki", "--db", db]) == 0
        assert_oauth_error(b.exchange(token), "invalid_client", 401)
        assert xaa_main(["idp", "clients", "resume", "wiki", "--db", db]) == 0
        assert b.exchange(token).status_code == 200


def test_kill_switch_audit_names_the_suspended_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, store):
        b = Browser(issuer)
        token = b.sso()["id_token"]
        assert xaa_main(["idp", "clients", "suspend", "wiki", "--db", db]) == 0
        assert_oauth_error(b.exchange(token), "invalid_client", 401)
        refused = store.audit_events()[-1]
        assert (refused.decision, refused.reason, refused.client_id) == (
            "denied", "invalid_client", None,
        )  # fmt: skip
        assert refused.extra["attempted_client_id"] == "wiki"
    capsys.readouterr()
    assert xaa_main(["idp", "audit", "--limit", "1", "--db", db]) == 0
    line = capsys.readouterr().out
    assert "client=wiki(unauthenticated)" in line
    assert line.endswith(' detail="client suspended"\n')  # why: not a wrong secret


def test_restart_keeps_refresh_tokens_keys_and_audit(tmp_path: Path) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, store):
        b = Browser(issuer)
        tokens = b.sso()
        kids = {k["kid"] for k in httpx.get(f"{issuer}/jwks").json()["keys"]}
        events = len(store.audit_events())
    with running_idp(db) as (issuer2, store2):
        b2 = Browser(issuer2)
        assert {k["kid"] for k in httpx.get(f"{issuer2}/jwks").json()["keys"]} == kids
        assert len(store2.audit_events()) == events
        resp = b2.exchange(
            tokens["refresh_token"], subject_token_type=spec.TOKEN_TYPE_REFRESH_TOKEN
        )
        assert resp.status_code == 200, resp.text


def test_key_rotation_under_a_running_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, store):
        b = Browser(issuer)
        id_token = b.sso()["id_token"]  # signed by the key about to retire
        cached = b.jwks()  # fetched once, before the rotation
        failures: list[str] = []
        kids: set[str] = set()
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(timeout=10) as http:
                while not stop.is_set():
                    params = {
                        "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                        "requested_token_type": spec.TOKEN_TYPE_ID_JAG,
                        "audience": CHAT_AS,
                        "subject_token": id_token,
                        "subject_token_type": spec.TOKEN_TYPE_ID_TOKEN,
                    }
                    resp = http.post(
                        f"{issuer}/token", content=encode_form(params), headers=WIKI_BASIC
                    )
                    if resp.status_code != 200:
                        failures.append(resp.text)
                        continue
                    try:
                        jag = verify_id_jag(
                            resp.json()["access_token"],
                            keys=cached,
                            issuer=issuer,
                            audience=CHAT_AS,
                            client_id="wiki-at-chat",
                        )
                        kids.add(jag.header["kid"])
                    except Exception as exc:
                        failures.append(repr(exc))

        thread = threading.Thread(target=client)
        thread.start()
        before = store.current.kid
        time.sleep(0.3)
        assert xaa_main(["idp", "keys", "rotate", "--db", db, "--min-staging", "0"]) == 0
        deadline = time.monotonic() + 10
        while store.current.kid == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        thread.join()
        assert failures == []
        assert kids == {before, store.current.kid} and len(kids) == 2
        states = dict(store.key_states())
        assert states[before] == "retired"  # still published: it signed live tokens
    capsys.readouterr()


def test_audit_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, _):
        b = Browser(issuer)
        b.exchange(b.sso()["id_token"])
        b.exchange("not-a-token")
    capsys.readouterr()
    assert xaa_main(["idp", "audit", "--json", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    exchanges = [e for e in events if e["event"] == "token_exchange.id_jag"]
    assert [e["decision"] for e in exchanges] == ["issued", "denied"]
    assert exchanges[1]["reason"] == "invalid_request"
    assert xaa_main(["idp", "audit", "--db", db]) == 0
    assert "token_exchange.id_jag issued" in capsys.readouterr().out


def _authorize(b: Browser, **extra: str) -> httpx.Response:
    return b.http.get(
        f"{b.issuer}/authorize",
        params={
            "response_type": "code",
            "client_id": "wiki",
            "redirect_uri": WIKI_REDIRECT,
            "scope": "openid",
            "state": "s2",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            **extra,
        },
    )


def test_sso_session_prompt_and_max_age(idp: tuple[str, Store]) -> None:
    b = Browser(idp[0])
    assert _authorize(b, prompt="none").headers["location"].count("error=login_required") == 1
    b.sso()  # logs in: the browser now has a session cookie
    again = _authorize(b)
    assert again.status_code == 302 and "code=" in again.headers["location"]
    assert _authorize(b, prompt="none").status_code == 302
    assert _authorize(b, prompt="login").status_code == 200  # the login form again
    assert _authorize(b, max_age="3600").status_code == 302
    assert "error=invalid_request" in _authorize(b, max_age="soon").headers["location"]


def test_suspended_client_cannot_start_sso(tmp_path: Path) -> None:
    db = str(tmp_path / "idp.sqlite3")
    with running_idp(db) as (issuer, _):
        assert xaa_main(["idp", "clients", "suspend", "wiki", "--db", db]) == 0
        location = _authorize(Browser(issuer)).headers["location"]
        assert "error=unauthorized_client" in location


def test_admin_listings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "idp.sqlite3")
    Store(db).close()  # what `xaa idp serve --db` leaves: the admin commands need one
    assert xaa_main(["idp", "clients", "list", "--db", db]) == 0
    clients = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {c["client_id"]: c["status"] for c in clients} == {"agent": "active", "wiki": "active"}
    assert all(c["owner"] for c in clients)
    assert xaa_main(["idp", "keys", "list", "--db", db]) == 0
    states = [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()]
    assert sorted(states) == ["current", "next"]
    assert xaa_main(["idp", "clients", "suspend", "nobody", "--db", db]) == 2


def test_unauthenticated_garbage_cannot_forge_or_flood_the_audit_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "idp.sqlite3")
    forged = "x\n2026-01-01T00:00:00+00:00 token.oidc issued - client=wiki"
    with running_idp(db) as (issuer, _):
        b = Browser(issuer)
        for _ in range(40):
            resp = b.token({"grant_type": forged, "scope": "s" * 60_000}, headers=FORM)
            assert_oauth_error(resp, "unsupported_grant_type")
            wrong_secret = {
                "grant_type": spec.GRANT_TOKEN_EXCHANGE,
                "client_id": "wiki",
                "client_secret": "wrong",
                "subject_token": "x\ny",
            }
            assert_oauth_error(b.token(wrong_secret, headers=FORM), "invalid_client", 401)
        for _ in range(3):  # authenticated denials are each kept
            assert_oauth_error(b.exchange("not-a-token"), "invalid_request")
    capsys.readouterr()
    assert xaa_main(["idp", "audit", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not [line for line in lines if line.startswith("2026-01-01")]
    # Two unauthenticated keys: each one row, then its counted summary (written when the
    # IdP stops at the latest), and the three authenticated denials.
    assert len(lines) <= 7, lines
    assert max(len(line) for line in lines) < 2_000
    assert xaa_main(["idp", "audit", "--json", "--db", db]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    authenticated = [e for e in events if e.get("client_id") == "wiki"]
    assert len(authenticated) == 3
    assert all(e["client_address"] == "127.0.0.1" for e in events)


# -- login: equal work for unknown users, throttling --------------------------------------


def _count_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = hashlib.scrypt

    def spy(*args: Any, **kwargs: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    return calls


def test_login_does_one_scrypt_for_known_and_unknown_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = Store(":memory:")
    store.seed(load_config())
    calls = _count_scrypt(monkeypatch)
    for username, password, ok in [
        ("alice", "wrong", False),
        ("nobody", "wrong", False),
        ("alice", "alice", True),
    ]:
        calls[0] = 0
        assert store.check_login(username, password) is ok
        assert calls[0] == 1, (username, calls[0])
    monkeypatch.undo()

    times: dict[str, list[float]] = {"nobody": [], "alice": []}
    for _ in range(7):  # interleaved, best of seven: robust to a busy machine
        for username in times:
            start = time.perf_counter()
            store.check_login(username, "wrong")
            times[username].append(time.perf_counter() - start)
    ratio = min(times["nobody"]) / min(times["alice"])
    assert 0.6 < ratio < 1.4, ratio  # was ~1.8: two scrypts for an unknown user
    store.close()


def test_repeated_wrong_passwords_lock_the_account(idp: tuple[str, Store]) -> None:
    issuer, store = idp
    app_idp = _app_idp(issuer)
    clock = [1_000.0]
    app_idp.throttle = LoginThrottle(clock=lambda: clock[0])
    http = httpx.Client(timeout=10, follow_redirects=False)
    OPEN.append(http)
    params = {
        "response_type": "code",
        "client_id": "wiki",
        "redirect_uri": WIKI_REDIRECT,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = http.get(f"{issuer}/authorize", params=params)
    hidden = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    statuses = [
        http.post(f"{issuer}/login", data={**hidden, "username": "alice", "password": "x"})
        for _ in range(30)
    ]
    assert [r.status_code for r in statuses[:6]] == [401] * 6
    assert {r.status_code for r in statuses[6:]} == {429}
    right = {**hidden, "username": "alice", "password": "alice"}
    refused = http.post(f"{issuer}/login", data=right)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in refused.text
    locks = [e for e in store.audit_events() if e.reason == "locked"]
    assert locks and locks[0].subject == "alice" and locks[0].extra["key"] == "account"
    clock[0] += 3600
    assert http.post(f"{issuer}/login", data=right).status_code == 302  # the lock has passed


def _app_idp(issuer: str) -> Any:
    """The running app's ``Idp`` (its throttle is swapped for one with a test clock)."""
    for app in RUNNING_APPS:
        if app.state.idp.issuer == issuer:
            return app.state.idp
    raise LookupError(issuer)
