"""examples/idp_builder passes the IdP conformance suite (xaa.conformance) on a free port:
with a client secret and with private_key_jwt, zero MUST failures."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.idp_builder.app import AGENT_REDIRECT, WIKI_REDIRECT, create_app
from xaa import SigningKey
from xaa.adapters.serving import free_port, serve_in_thread
from xaa.conformance import ClientCredentials, IdpTarget, Level, Outcome, run_idp_suite
from xaa.conformance._checks import fetch_json, metadata_url
from xaa.conformance._login import login_tokens

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
NOTES = "http://127.0.0.1:8000"  # the audience: examples/fastapi_vendor's default issuer
AGENT_KEY = SigningKey.generate(kid="agent-1")
WIKI = ClientCredentials("wiki", secret="wiki-secret")
AGENT = ClientCredentials("agent", "private_key_jwt", key=AGENT_KEY)


@contextlib.contextmanager
def builder_idp(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    jwks: dict[str, object] = {"keys": [AGENT_KEY.public_jwk()]}
    app = create_app(issuer, tmp_path / "idp-key.jwk", jwks, NOTES)
    with serve_in_thread(app, port=port):
        yield issuer, app


def tokens_of(issuer: str, client: ClientCredentials, redirect_uri: str) -> dict[str, Any]:
    with httpx.Client(follow_redirects=False) as http:
        return login_tokens(
            http, fetch_json(http, metadata_url(issuer)), client_id=client.client_id,
            client_auth=lambda form: client.apply(form, issuer), redirect_uri=redirect_uri,
            username="alice", password="alice", scope="openid email offline_access",
        )  # fmt: skip


def must_failures(report: Any) -> list[tuple[str, str]]:
    return [
        (r.case.id, r.message)
        for r in report.results
        if r.case.level is Level.MUST and r.outcome in (Outcome.FAIL, Outcome.ERROR)
    ]


def test_builder_idp_passes_the_idp_suite_with_a_client_secret(tmp_path: Path) -> None:
    with builder_idp(tmp_path) as (issuer, _):
        agent = tokens_of(issuer, AGENT, AGENT_REDIRECT)
        target = IdpTarget(
            issuer, WIKI, NOTES, login=("alice", "alice"), redirect_uri=WIKI_REDIRECT,
            expect_client_id="wiki-at-notes", scope="notes.read",
            other_client_id_token=agent["id_token"],
            other_client_refresh_token=agent["refresh_token"],
        )  # fmt: skip
        report = run_idp_suite(target)
    assert must_failures(report) == []
    assert [(r.case.id, r.message) for r in report.results if r.broken] == []
    ran = {r.case.id for r in report.results if r.outcome is Outcome.PASS}
    assert {"idp-rejects-revoked-refresh-token", "idp-rejects-refresh-token-of-another-client",
            "idp-never-issues-access-token-for-own-id-jag"} <= ran  # fmt: skip
    assert report.exit_code == 0


def test_builder_idp_passes_the_idp_suite_with_private_key_jwt(tmp_path: Path) -> None:
    with builder_idp(tmp_path) as (issuer, _):
        wiki = tokens_of(issuer, WIKI, WIKI_REDIRECT)
        target = IdpTarget(
            issuer, AGENT, NOTES, login=("alice", "alice"), redirect_uri=AGENT_REDIRECT,
            expect_client_id="agent-at-notes", other_client_id_token=wiki["id_token"],
            other_client_refresh_token=wiki["refresh_token"],
        )  # fmt: skip
        report = run_idp_suite(target)
    assert must_failures(report) == []
    assert [(r.case.id, r.message) for r in report.results if r.broken] == []
    assert report.exit_code == 0


def test_metadata_advertises_the_exchange_and_the_key_survives_a_restart(tmp_path: Path) -> None:
    with builder_idp(tmp_path) as (issuer, _):
        meta = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        kid = httpx.get(meta["jwks_uri"]).json()["keys"][0]["kid"]
    assert meta["identity_chaining_requested_token_types_supported"] == [
        "urn:ietf:params:oauth:token-type:id-jag"
    ]
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in meta["grant_types_supported"]
    assert "none" not in meta["token_endpoint_auth_methods_supported"]
    with builder_idp(tmp_path) as (issuer, _):
        assert httpx.get(f"{issuer}/jwks").json()["keys"][0]["kid"] == kid


def test_suspended_client_is_refused_and_the_audit_names_it(tmp_path: Path) -> None:
    with builder_idp(tmp_path) as (issuer, app):
        id_token = tokens_of(issuer, WIKI, WIKI_REDIRECT)["id_token"]
        app.state.directory.suspend("wiki")
        answer = httpx.post(
            f"{issuer}/token",
            auth=("wiki", "wiki-secret"),
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                "audience": NOTES,
                "subject_token": id_token,
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            },
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert answer.headers["cache-control"] == "no-store"
        event = app.state.audit.events[-1]
        assert event.decision == "denied" and event.extra["attempted_client_id"] == "wiki"


def run_example(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m examples.idp_builder ARGS`` as the README runs it (from the repository)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "examples.idp_builder", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "--agent-jwks agent-jwks.json: No such file or directory"),
        ("{", "--agent-jwks agent-jwks.json: Expecting property name"),
        ("[1]", "--agent-jwks agent-jwks.json: not a JWKS object"),
        ('{"keys": [{"kty": "oct", "k": "AAAA"}]}', "needs the client's public keys"),
    ],
)
def test_builder_bad_agent_jwks_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, says: str
) -> None:
    if content is not None:
        (tmp_path / "agent-jwks.json").write_text(content)
    result = run_example("--agent-jwks", "agent-jwks.json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert says in result.stderr.splitlines()[-1]


def test_builder_unusable_key_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "agent-jwks.json").write_text(json.dumps({"keys": [AGENT_KEY.public_jwk()]}))
    (tmp_path / "key.jwk").write_text("garbage")
    result = run_example("--agent-jwks", "agent-jwks.json", "--key-file", "key.jwk", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--key-file key.jwk: " in result.stderr.splitlines()[-1]


def test_builder_audit_lines_reach_the_operator_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's "Every decision | LogAudit": when run, each decision is a log line."""
    import uvicorn

    from examples.idp_builder.app import main
    from examples.idp_builder.issuance import AUDIT_LOGGER

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setattr(logging.getLogger(AUDIT_LOGGER), "level", logging.NOTSET)
    jwks = tmp_path / "agent-jwks.json"
    jwks.write_text(json.dumps({"keys": [AGENT_KEY.public_jwk()]}))
    assert main(["--agent-jwks", str(jwks), "--key-file", str(tmp_path / "k.jwk")]) == 0
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with serve_in_thread(served[0], port=port):
        answer = httpx.post(
            f"{issuer}/token",
            auth=("wiki", "wiki-secret"),
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                "audience": "https://unknown.example",
                "subject_token": "x",
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            },
        )
    assert answer.status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.name == AUDIT_LOGGER]
    assert len(lines) == 1 and json.loads(lines[0])["decision"] == "denied"
