"""``xaa conformance resource-as`` (the CLI, with its own test IdP) against the framework
examples served on loopback: examples/flask_vendor, examples/django_vendor and
examples/authlib_vendor report zero MUST failures; a plain authlib ``IDJAGGrant`` server,
built as authlib documents it, breaks the rules listed in docs/conformance.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from examples.authlib_vendor.app import add_client
from examples.authlib_vendor.app import create_app as authlib_app
from examples.django_vendor.app import create_app as django_app
from examples.flask_vendor.app import create_app as flask_app
from tests.conformance.authlib_naive import naive_grant
from tests.support.django_setup import configure_django
from tests.support.wsgi import serve_wsgi
from xaa.adapters.serving import free_port
from xaa.cli import main as xaa_main

pytestmark = pytest.mark.e2e

CLIENT, SECRET = "conformance-client", "conformance-client-secret"
SCOPE = "notes.read notes.write"


def run_suite(issuer: str, idp_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The CLI's JSON report for the AS at ``issuer`` (exit code under ``"exit"``)."""
    code = xaa_main(
        ["conformance", "resource-as", "--issuer", issuer, "--client-id", CLIENT,
         "--client-secret", SECRET, "--resource", issuer + "/notes", "--scope", SCOPE,
         "--test-idp-url", idp_url, "--json"]
    )  # fmt: skip
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    report["exit"] = code
    return report


def failing(report: dict[str, Any], level: str | None = None) -> list[str]:
    return [
        r["id"]
        for r in report["results"]
        if r["outcome"] == "fail" and (level is None or r["level"] == level)
    ]


def served(make: Callable[[str, str], Any], tmp_path: Path, capsys: Any) -> dict[str, Any]:
    port, idp_url = free_port(), f"http://127.0.0.1:{free_port()}"
    issuer = f"http://127.0.0.1:{port}"
    with serve_wsgi(make(issuer, idp_url), port=port):
        return run_suite(issuer, idp_url, capsys)


def test_flask_vendor_example_passes_the_resource_as_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def make(issuer: str, idp_url: str) -> Any:
        app = flask_app(issuer, tmp_path, [idp_url])
        app.extensions["notes_xaa"].db.add_client(CLIENT, SECRET)
        return app

    report = served(make, tmp_path, capsys)
    assert failing(report) == []
    assert report["exit"] == 0


def test_django_vendor_example_passes_the_resource_as_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_django()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    port, idp_url = free_port(), f"http://127.0.0.1:{free_port()}"
    issuer = f"http://127.0.0.1:{port}"
    app = django_app(issuer, tmp_path, [idp_url])
    app.xaa.db.add_client(CLIENT, SECRET)
    with override_settings(**app.settings), serve_wsgi(WSGIHandler(), port=port):
        report = run_suite(issuer, idp_url, capsys)
    assert failing(report) == []
    assert report["exit"] == 0


def test_authlib_vendor_example_passes_the_resource_as_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def make(issuer: str, idp_url: str) -> Any:
        app = authlib_app(issuer, tmp_path, [idp_url])
        add_client(app.extensions["vendor_db"], CLIENT, SECRET)
        return app

    report = served(make, tmp_path, capsys)
    assert failing(report) == []
    assert report["exit"] == 0


def test_plain_authlib_id_jag_grant_breaks_these_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def make(issuer: str, idp_url: str) -> Any:
        app = authlib_app(issuer, tmp_path, [idp_url], grant=naive_grant(issuer, [idp_url]))
        add_client(app.extensions["vendor_db"], CLIENT, SECRET)
        return app

    report = served(make, tmp_path, capsys)
    assert {level: failing(report, level) for level in ("MUST", "SHOULD", "best-practice")} == {
        "MUST": [
            "ras-rejects-duplicated-assertion",
            "ras-rejects-duplicated-grant-type",
            "ras-rejects-rsa-key-below-2048-bits",
            "ras-rejects-aud-array-with-two-values",
            "ras-rejects-two-client-authentication-methods",
            "ras-rejects-requested-resource-not-in-id-jag",
            # The key confusion the suite used to miss: HS256 with the JWKS's `oct` key.
            "ras-rejects-hs256-with-symmetric-key-from-jwks",
        ],
        "SHOULD": [
            "ras-rejects-exp-before-iat",
            "ras-rejects-resource-not-served",
            "ras-rejects-token-without-kid-when-several-keys",
            "ras-rejects-kid-shared-by-two-keys",
        ],
        "best-practice": [
            "ras-rate-limits-jwks-refresh-on-unknown-kid",
            "ras-rejects-duplicate-claim-member",
            "ras-rejects-lifetime-of-a-day",
        ],
    }  # the worked example of docs/conformance.md
    assert report["exit"] == 1


def test_an_as_that_does_not_trust_the_test_idp_gets_a_one_line_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: 105 failures and no word of the likely cause (the AS trusts another IdP)."""
    port, idp_url = free_port(), f"http://127.0.0.1:{free_port()}"
    issuer = f"http://127.0.0.1:{port}"
    app = flask_app(issuer, tmp_path, ["http://127.0.0.1:1"])  # trusts some other IdP
    app.extensions["notes_xaa"].db.add_client(CLIENT, SECRET)
    with serve_wsgi(app, port=port):
        code = xaa_main(
            ["conformance", "resource-as", "--issuer", issuer, "--client-id", CLIENT,
             "--client-secret", SECRET, "--resource", issuer + "/notes", "--scope", SCOPE,
             "--test-idp-url", idp_url, "--only", "ras-accepts-valid-id-jag"]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    hint = [line for line in err.splitlines() if "refused a valid ID-JAG" in line]
    assert len(hint) == 1 and idp_url in hint[0] and "invalid_grant" in hint[0]
