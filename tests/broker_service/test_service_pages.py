"""The people's pages: security headers, CSRF on every change, single-use sign-in state,
escaped output, and a consent callback that only lands in the vault of the person who asked."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from starlette.requests import Request

from reference_broker import signin
from reference_broker.app import _TEMPLATES, Service
from reference_broker.signin import _next
from tests.broker.reference_stack import LEGACY_PASSWORD, LEGACY_USER
from tests.broker_service.service_stack import ServiceStack, csrf, service_stack, sign_in
from xaa.broker import BrokerError, SecretKind, SignInRejected, Slot

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    with service_stack(Path(tmp_path_factory.mktemp("pages"))) as running:
        yield running


def _headers_ok(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_every_page_carries_the_security_headers(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as browser:
        _headers_ok(browser.get(stack.broker + "/"))
        _headers_ok(browser.get(stack.broker + "/connect/chat"))
        sign_in(browser, stack.broker)
        for path in ("/", "/activity", "/connect/legacy-chat"):
            _headers_ok(browser.get(stack.broker + path))
        _headers_ok(browser.post(stack.broker + "/v1/token", json={}))


def test_state_change_without_csrf_token_is_refused(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as browser:
        sign_in(browser, stack.broker, "bob")
        for path, form in (
            ("/revoke", {"kind": "agent", "name": "summarizer"}),
            ("/revoke", {"kind": "agent", "name": "summarizer", "csrf_token": "guess"}),
            ("/restore", {"kind": "agent", "name": "summarizer"}),
            ("/connect/legacy-chat", {}),
            ("/logout", {}),
        ):
            answer = browser.post(stack.broker + path, data=form)
            assert answer.status_code == 403, path
            assert "The form expired; reload the page." in answer.text
        assert "revoked by you" not in browser.get(stack.broker + "/").text


def test_oversized_or_repeated_form_is_refused(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as browser:
        sign_in(browser, stack.broker, "bob")
        token = csrf(browser.get(stack.broker + "/"))
        for body in (
            f"csrf_token={token}&kind=agent&name=" + "x" * 5000,
            f"csrf_token={token}&kind=agent&kind=app&name=summarizer",
        ):
            answer = browser.post(
                stack.broker + "/revoke",
                content=body.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 400
            assert "The form is malformed or too large." in answer.text


def test_state_change_without_a_session_is_refused(stack: ServiceStack) -> None:
    answer = httpx.post(stack.broker + "/revoke", data={"kind": "agent", "name": "summarizer"})
    assert answer.status_code == 401
    assert "Your session has ended." in answer.text
    _headers_ok(answer)  # a refused form is a page like any other


def test_refused_sign_in_page_carries_the_security_headers(stack: ServiceStack) -> None:
    answer = httpx.get(stack.broker + "/login/callback?state=x&code=y")
    assert answer.status_code == 400
    assert "This sign-in was started in another browser." in answer.text
    _headers_ok(answer)


def test_sign_in_callback_refusal_is_a_typed_broker_error() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/login/callback",
        "query_string": b"state=a&state=b&code=c",
        "headers": [],
    }
    with pytest.raises(SignInRejected) as refused:  # refused before the service is used
        asyncio.run(signin.finish(Request(scope), cast(Service, None)))
    assert refused.value.message == "The sign-in response was malformed."
    assert isinstance(refused.value, BrokerError)


def _idp_answer(browser: httpx.Client, broker: str, username: str) -> str:
    """Start a sign-in and pass the IdP's login form; the callback URL, not yet followed."""
    from urllib.parse import urljoin

    from xaa.adapters.httpx_login import LoginForm

    page = browser.get(broker + "/login", follow_redirects=True)
    form = LoginForm()
    form.feed(page.text)
    fields = {**form.fields, "username": username, "password": username}
    answer = browser.post(urljoin(str(page.url), form.action or ""), data=fields)
    callback: str = answer.headers["location"]
    assert callback.startswith(broker + "/login/callback?")
    return callback


def test_sign_in_state_is_single_use(stack: ServiceStack) -> None:
    from urllib.parse import parse_qs, urlsplit

    with httpx.Client(timeout=20) as browser:
        callback = _idp_answer(browser, stack.broker, "bob")
        assert browser.get(callback).status_code == 303
        state = parse_qs(urlsplit(callback).query)["state"][0]
        browser.cookies.set("xaa_broker_login", state, path="/login")
        again = browser.get(callback)
        assert again.status_code == 400
        assert "This sign-in expired or was already used." in again.text


def test_sign_in_response_from_another_browser_is_refused(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as attacker, httpx.Client(timeout=20) as victim:
        callback = _idp_answer(attacker, stack.broker, "bob")
        planted = victim.get(callback)  # login CSRF: the victim would be signed in as bob
        assert planted.status_code == 400
        assert "This sign-in was started in another browser." in planted.text
        assert "xaa_broker_session" not in victim.cookies
        assert attacker.get(callback).status_code == 303  # the browser that started it


def test_sign_in_never_redirects_off_site() -> None:
    assert _next("//evil.example/x") == "/"
    assert _next("https://evil.example/") == "/"
    assert _next("/activity") == "/activity"


def test_pages_escape_what_they_show() -> None:
    html = _TEMPLATES.get_template("message.html").render(
        title="<b>t</b>", message="<script>alert(1)</script>", person=None, csrf=""
    )
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_consent_callback_never_lands_in_another_persons_vault(stack: ServiceStack) -> None:
    with httpx.Client(timeout=20) as alice, httpx.Client(timeout=20) as bob:
        sign_in(alice, stack.broker, "alice")
        sign_in(bob, stack.broker, "bob")
        page = alice.get(stack.broker + "/connect/legacy-chat")
        started = alice.post(stack.broker + "/connect/legacy-chat", data={"csrf_token": csrf(page)})
        url = started.headers["location"]
        form = alice.get(url)
        pending = re.search(r"name='pending' value='([^']+)'", form.text)
        assert pending is not None
        base = url.split("/authorize")[0]
        alice.post(
            base + "/login",
            data={
                "pending": pending.group(1),
                "username": LEGACY_USER,
                "password": LEGACY_PASSWORD,
            },
        )
        allowed = alice.post(
            base + "/consent", data={"pending": pending.group(1), "decision": "allow"}
        )
        callback = allowed.headers["location"]
        stolen = bob.get(callback)  # bob's browser brings alice's authorization response
        assert stolen.status_code == 400
        assert "This request expired or is not yours." in stolen.text
        vault = _vault(stack)
        for person in ("alice", "bob"):
            assert vault.get(Slot(SecretKind.REFRESH_TOKEN, person, "legacy-chat")) is None


def _vault(stack: ServiceStack):  # type: ignore[no-untyped-def]
    from xaa.adapters.broker import SecretVault, SqliteVaultBackend

    return SecretVault(stack.keyring, SqliteVaultBackend(stack.tmp / "broker.sqlite3"))


def test_person_revoking_an_app_deletes_and_revokes_the_grant(stack: ServiceStack) -> None:
    from tests.broker_service.service_stack import ask, consent_at_legacy
    from xaa.adapters.broker import SqliteAttributionLog

    with httpx.Client(timeout=20) as bob:
        sign_in(bob, stack.broker, "bob")
        page = bob.get(stack.broker + "/connect/legacy-chat")
        started = bob.post(stack.broker + "/connect/legacy-chat", data={"csrf_token": csrf(page)})
        assert (
            "legacy-chat is connected" in consent_at_legacy(bob, started.headers["location"]).text
        )
        assert (
            ask(stack.broker, "legacy-chat", ["chat.read"], svid=stack.svid(), person="bob").json()[
                "via"
            ]
            == "fallback"
        )
        home = bob.get(stack.broker + "/")
        done = bob.post(
            stack.broker + "/revoke",
            data={"csrf_token": csrf(home), "kind": "app", "name": "legacy-chat"},
        )
        assert done.status_code == 303  # back to the apps page
    assert _vault(stack).get(Slot(SecretKind.REFRESH_TOKEN, "bob", "legacy-chat")) is None
    last = SqliteAttributionLog(stack.tmp / "broker.sqlite3").records()[-1]
    assert last.detail == ("person:bob revoked app:legacy-chat (refresh token revoked at the app)")
    answer = ask(stack.broker, "legacy-chat", ["chat.read"], svid=stack.svid(), person="bob")
    assert answer.status_code == 403
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "error": "revoked",
        "error_description": "bob revoked the app legacy-chat.",
        "target": "app:legacy-chat",
    }
