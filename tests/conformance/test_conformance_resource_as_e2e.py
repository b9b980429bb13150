"""The resource-AS suite against real servers on loopback: the library-built AS and the
reference resource app (``xaa resource serve --trust-idp``) via the CLI. The broken variants
are in test_conformance_broken_reference_apps.py."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reference_resource import Settings, create_app
from tests.conformance.broken_resource import endpoint_class
from tests.conformance.conformance_apps import CLIENT, POST_CLIENT, SECRET, resource_as_app
from tests.support.servers import free_port, serve
from xaa.cli import main as xaa_main
from xaa.conformance import (
    RESOURCE_AS,
    ClientCredentials,
    Outcome,
    ResourceAsTarget,
    TestIdp,
    run_resource_as_suite,
)

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def library_as(idp: TestIdp) -> Iterator[ResourceAsTarget]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with serve(resource_as_app(issuer, idp.url), port=port):
        yield ResourceAsTarget(
            issuer,
            ClientCredentials(CLIENT, secret=SECRET),
            resource=issuer + "/api",
            scope="chat.read chat.history",
        )


def test_library_resource_as_passes_every_case(xaa_test_idp: TestIdp) -> None:
    with library_as(xaa_test_idp) as target:
        report = run_resource_as_suite(target, xaa_test_idp)
    assert [(r.case.id, r.message) for r in report.results if r.outcome is not Outcome.PASS] == []
    assert len(report.results) == len(RESOURCE_AS.cases)
    assert report.exit_code == 0


def test_client_secret_post_and_selection_by_tag(xaa_test_idp: TestIdp) -> None:
    with library_as(xaa_test_idp) as target:
        post = ClientCredentials(POST_CLIENT, "client_secret_post", secret=SECRET)
        target = ResourceAsTarget(target.issuer, post, resource=target.resource, scope="chat.read")
        report = run_resource_as_suite(target, xaa_test_idp, only=["typ", "aud"], skip=["happy"])
    ids = {r.case.id for r in report.results}
    assert "ras-rejects-typ-jwt" in ids and "ras-rejects-aud-array-with-two-values" in ids
    assert "ras-accepts-aud-array-with-one-value" not in ids
    assert [(r.case.id, r.message) for r in report.results if r.outcome is not Outcome.PASS] == []


@contextlib.contextmanager
def reference_resource_app(tmp_path: Path, trust_idp: str, *extra: str) -> Iterator[str]:
    """``xaa resource serve --trust-idp URL [extra]`` in a subprocess on an ephemeral port."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "xaa", "resource", "serve", "--port", str(port),
               "--db", str(tmp_path / "resource.db"), "--replay", "memory",
               "--trust-idp", trust_idp, *extra]  # fmt: skip
    log = (tmp_path / "resource.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(issuer + "/.well-known/oauth-authorization-server").is_success:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the reference resource app did not start")
            time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_cli_against_the_reference_resource_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idp_url = f"http://127.0.0.1:{free_port()}"
    junit = tmp_path / "junit.xml"
    with reference_resource_app(tmp_path, idp_url) as issuer:
        code = xaa_main(
            ["conformance", "resource-as", "--issuer", issuer,
             "--client-id", "wiki-at-chat", "--client-secret", "wiki-chat-secret",
             "--resource", issuer + "/api", "--scope", "chat.read chat.history",
             "--test-idp-url", idp_url, "--json", "--junit", str(junit)]
        )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    failing = [(r["id"], r["message"]) for r in report["results"] if r["outcome"] != "pass"]
    assert failing == []
    assert code == 0
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == (str(len(RESOURCE_AS.cases)), "0")


def test_cli_exits_one_when_a_must_case_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chat app with its client binding broken (a test-only endpoint class): caught."""
    idp_url = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    settings = Settings.make(
        port=port, db=str(tmp_path / "chat.db"), replay="memory", trust_idps=[idp_url]
    )
    app = create_app(settings, endpoint_type=endpoint_class("client-binding"))
    with serve(app, port=port):
        code = xaa_main(
            ["conformance", "resource-as", "--issuer", settings.issuer,
             "--client-id", "wiki-at-chat", "--client-secret", "wiki-chat-secret",
             "--test-idp-url", idp_url, "--only", "client"]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  MUST          ras-rejects-client-id-claim-of-another-client" in out


def test_cli_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    code = xaa_main(
        ["conformance", "resource-as", "--issuer", "http://127.0.0.1:1", "--client-id", "c",
         "--client-secret", "s", "--only", "no-such-case"]
    )  # fmt: skip
    assert code == 2
    assert "unknown case id or tag: no-such-case" in capsys.readouterr().err


def test_cli_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert xaa_main(["conformance", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 80
    assert {"id", "suite", "level", "section", "tags", "risk"} <= rows[0].keys()


def test_cli_test_idp_serves_metadata_and_jwks(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "xaa", "conformance", "test-idp", "--test-idp-url", url]
    log = (tmp_path / "test-idp.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        metadata = None
        while metadata is None:
            with contextlib.suppress(httpx.HTTPError):
                metadata = httpx.get(url + "/.well-known/oauth-authorization-server").json()
            if metadata is None and (time.monotonic() > deadline or process.poll() is not None):
                raise RuntimeError("the test IdP did not start")
            time.sleep(0.1)
        assert metadata["issuer"] == url
        keys = httpx.get(metadata["jwks_uri"]).json()["keys"]
        algs = {k.get("alg") for k in keys}  # the use:enc key publishes none
        assert algs == {
            "ES256",
            "EdDSA",
            "RS256",
            "PS256",
            "ES384",
            "ES512",
            "ES256K",
            "HS256",
            None,
        }
        # Public halves only; the one symmetric key is deliberately public (key_confusion.py).
        assert all("d" not in k for k in keys)
        assert [k for k in keys if "k" in k] == [k for k in keys if k["kty"] == "oct"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
