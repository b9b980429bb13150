"""``xaa conformance ... --html FILE``: a self-contained report a person reads, checked in
Chromium (failures first, nothing fetched, tokens redacted); its screenshot goes into
docs/img/conformance-report.png for docs/conformance.md."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from reference_resource import Settings, create_app
from tests.conformance.broken_resource import endpoint_class
from tests.support.servers import free_port, serve
from xaa.cli import main as xaa_main
from xaa.conformance._recording import redact_body, redact_headers

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "img" / "conformance-report.png"
SECRET = "wiki-chat-secret"


def _chromium() -> str:
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (CI must run the browser test)")
        pytest.skip("Chromium is not installed")
    return path


def test_redaction_keeps_no_token_or_secret() -> None:
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    form = f"grant_type=jwt&assertion={jwt}&client_secret=s3cret&scope=chat.read".encode()
    shown = redact_body(form, "application/x-www-form-urlencoded")
    assert "s3cret" not in shown and jwt not in shown and "\nscope=chat.read" in shown
    answer = redact_body(b'{"access_token": "opaque-token", "error": "x"}', "application/json")
    assert "opaque-token" not in answer and '"error": "x"' in answer
    headers = redact_headers(httpx.Headers({"authorization": "Basic d2lraTpzZWNyZXQ=", "a": jwt}))
    assert headers == {"authorization": "Basic [redacted]", "a": f"[JWT, {len(jwt)} chars]"}
    moved = redact_headers(httpx.Headers({"location": "https://rp.example/cb?code=abc123&state=s"}))
    assert moved == {"location": "https://rp.example/cb?code=[redacted, 6 chars]&state=s"}


def test_html_report_shows_failures_first_in_chromium(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    test_idp = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    settings = Settings.make(
        port=port, db=str(tmp_path / "chat.db"), replay="memory", trust_idps=[test_idp]
    )
    report = tmp_path / "report.html"
    app = create_app(settings, endpoint_type=endpoint_class("typ"))
    with serve(app, port):
        code = xaa_main(
            [
                "conformance",
                "resource-as",
                "--issuer",
                settings.issuer,
                "--client-id",
                "wiki-at-chat",
                "--client-secret",
                SECRET,
                "--resource",
                settings.resource,
                "--scope",
                "chat.read chat.history",
                "--test-idp-url",
                test_idp,
                "--only",
                "typ,happy,aud",
                "--html",
                str(report),
            ]
        )
    capsys.readouterr()
    assert code == 1  # MUST rules broken
    html = report.read_text()
    assert SECRET not in html and "eyJ" not in html  # no secret, no token
    assert "<script" not in html and "http-equiv=Content-Security-Policy" in html

    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        assert page.title().startswith("xaa conformance resource-as against")
        headings = page.locator("h2").all_inner_texts()
        assert headings[0] == "Failures (5)" and headings[1] == "Every case, by section"
        first = page.locator("article.failure").first
        assert first.is_visible()
        assert first.locator("h4").inner_text().startswith("ras-rejects-typ-")
        assert page.locator(".verdict.bad").is_visible()
        # The first row of every table is a failure when its section has one.
        first_row = page.locator("section#cases table").first.locator("tr").nth(1)
        assert first_row.locator(".badge").inner_text() == "FAIL"
        # What was sent and what came back, redacted, open on demand.
        first.locator("summary").first.click()
        sent = first.locator("pre").first.inner_text()
        assert sent.startswith("POST ") and "\nassertion=[redacted, " in sent
        assert "authorization: Basic [redacted]" in sent
        failures_y = page.locator("#failures").bounding_box()
        cases_y = page.locator("#cases").bounding_box()
        assert failures_y is not None and cases_y is not None and failures_y["y"] < cases_y["y"]
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        browser.close()
    assert requests == [report.as_uri()]  # nothing fetched: self-contained


def test_idp_suite_html_report_keeps_no_password_code_or_token(tmp_path: Path) -> None:
    """The IdP suite signs in and exchanges tokens; its failures' exchanges show none of them."""
    from tests.conformance.conftest import running_reference_idp
    from tests.conformance.test_conformance_idp_e2e import wiki_target
    from xaa.conformance import run_idp_suite
    from xaa.conformance._html_report import render_html

    case = "idp-rejects-id-token-of-another-client"
    with running_reference_idp(tmp_path / "idp.sqlite3", "subject-aud") as issuer:
        report = run_idp_suite(wiki_target(issuer), only=[case, "idp-issues-id-jag"])
    failed = [r for r in report.results if r.broken]
    assert [r.case.id for r in failed] == [case]
    assert failed[0].exchanges, "the failure keeps what was sent and what came back"
    html = render_html(report)
    assert "eyJ" not in html and "wiki-secret" not in html and "subject_token=[redacted" in html
