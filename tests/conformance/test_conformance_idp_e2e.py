"""The IdP suite against the reference IdP on loopback: both client authentication methods,
an ID token given as a file or obtained by signing in, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reference_idp.config import load_config
from xaa import SigningKey
from xaa.cli import main as xaa_main
from xaa.conformance import IDP, ClientCredentials, IdpTarget, Outcome, run_idp_suite
from xaa.conformance._checks import fetch_json, metadata_url
from xaa.conformance._login import login_tokens

pytestmark = pytest.mark.e2e

CHAT = "http://127.0.0.1:9500"
WIKI = ClientCredentials("wiki", secret="wiki-secret")
WIKI_REDIRECT = "http://127.0.0.1:9700/callback"
AGENT_JWK = load_config().demo["agent_private_jwk"]
AGENT = ClientCredentials("agent", "private_key_jwt", key=SigningKey.from_jwk(AGENT_JWK))
AGENT_REDIRECT = "http://127.0.0.1:9701/callback"


def tokens_of(issuer: str, client: ClientCredentials, redirect_uri: str) -> dict[str, Any]:
    """alice signs in to ``client``: its ID token and refresh token."""
    with httpx.Client(follow_redirects=False) as http:
        metadata = fetch_json(http, metadata_url(issuer))
        return login_tokens(
            http,
            metadata,
            client_id=client.client_id,
            client_auth=lambda form: client.apply(form, issuer),
            redirect_uri=redirect_uri,
            username="alice",
            password="alice",
        )


def id_token_of(issuer: str, client: ClientCredentials, redirect_uri: str) -> str:
    return str(tokens_of(issuer, client, redirect_uri)["id_token"])


def wiki_target(issuer: str, **changes: Any) -> IdpTarget:
    """wiki signs in as alice; the agent's ID and refresh tokens are another client's."""
    agent = tokens_of(issuer, AGENT, AGENT_REDIRECT)
    settings: dict[str, Any] = {
        "login": ("alice", "alice"),
        "redirect_uri": WIKI_REDIRECT,
        "expect_client_id": "wiki-at-chat",
        "other_client_id_token": agent["id_token"],
        "other_client_refresh_token": agent["refresh_token"],
    }
    return IdpTarget(issuer, WIKI, CHAT, **{**settings, **changes})


def test_reference_idp_passes_every_case_with_a_client_secret(reference_idp: str) -> None:
    report = run_idp_suite(wiki_target(reference_idp, scope="chat.read"))
    broken = [(r.case.id, r.message) for r in report.results if r.broken]
    assert broken == []
    skipped = {r.case.id for r in report.results if r.outcome is Outcome.SKIP}
    assert skipped == {c.id for c in IDP.cases if "private-key-jwt" in c.tags}
    assert report.exit_code == 0


def test_reference_idp_passes_every_case_with_private_key_jwt(reference_idp: str) -> None:
    target = IdpTarget(
        reference_idp,
        AGENT,
        CHAT,
        id_token=id_token_of(reference_idp, AGENT, AGENT_REDIRECT),
        expect_client_id="agent-at-chat",
        other_client_id_token=id_token_of(reference_idp, WIKI, WIKI_REDIRECT),
    )
    report = run_idp_suite(target)
    assert [(r.case.id, r.message) for r in report.results if r.broken] == []
    skipped = {r.case.id: r.message for r in report.results if r.outcome is Outcome.SKIP}
    assert set(skipped) == {c.id for c in IDP.cases if "refresh" in c.tags and c.negative}
    assert all(message.startswith("needs --") for message in skipped.values())


def test_a_wrong_expected_client_id_is_a_must_failure(reference_idp: str) -> None:
    target = IdpTarget(
        reference_idp,
        WIKI,
        CHAT,
        login=("alice", "alice"),
        redirect_uri=WIKI_REDIRECT,
        expect_client_id="someone-else-at-chat",
    )
    report = run_idp_suite(target, only=["idp-id-jag-client-id-is-client-at-resource-as"])
    (result,) = report.results
    assert result.outcome is Outcome.FAIL
    assert report.exit_code == 1


def test_cli_with_an_id_token_file_and_with_a_login(
    reference_idp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "id_token.jwt"
    token_file.write_text(id_token_of(reference_idp, WIKI, WIKI_REDIRECT))
    common = ["conformance", "idp", "--issuer", reference_idp, "--client-id", "wiki",
              "--client-secret", "wiki-secret", "--audience", CHAT,
              "--expect-client-id", "wiki-at-chat", "--json"]  # fmt: skip
    assert xaa_main([*common, "--id-token-file", str(token_file), "--only", "happy"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert {r["outcome"] for r in first["results"]} == {"pass"}
    login = ["--login", "alice:alice", "--redirect-uri", WIKI_REDIRECT, "--skip", "private-key-jwt"]
    assert xaa_main([*common, *login]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["summary"]["fail"] == 0 and second["summary"]["error"] == 0


def test_cli_private_key_jwt(
    reference_idp: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "agent.jwk.json"
    key_file.write_text(json.dumps(dict(AGENT_JWK)))
    code = xaa_main(
        ["conformance", "idp", "--issuer", reference_idp, "--client-id", "agent",
         "--key", str(key_file), "--audience", CHAT, "--login", "alice:alice",
         "--redirect-uri", AGENT_REDIRECT, "--only", "private-key-jwt"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "idp-rejects-expired-client-assertion" in out
