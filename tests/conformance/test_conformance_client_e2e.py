"""The client suite: xaa's own ``xaa token`` passes every case; a naive client is caught."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.conformance.conformance_apps import PYTHON, XAA_TOKEN
from xaa.cli import main as xaa_main
from xaa.conformance import CLIENT, ClientTarget, Outcome, run_client_suite

pytestmark = pytest.mark.e2e

NAIVE = f"{PYTHON} {shlex.quote(str(Path(__file__).with_name('naive_client.py')))}"


def test_xaa_token_passes_every_client_case() -> None:
    report = run_client_suite(ClientTarget(XAA_TOKEN))
    assert [(r.case.id, r.message) for r in report.results if r.outcome is not Outcome.PASS] == []
    assert report.exit_code == 0


def test_a_naive_client_is_flagged_for_exactly_what_it_does_not_check() -> None:
    report = run_client_suite(ClientTarget(NAIVE))
    flagged = {r.case.id for r in report.results if r.broken}
    safe_by_crashing = {
        "client-rejects-200-with-error-body",
        "client-rejects-exchange-response-without-token",
        "client-refuses-token-endpoint-on-another-origin",  # it never reads metadata
    }
    negatives = {c.id for c in CLIENT.cases if c.negative}
    assert flagged == negatives - safe_by_crashing
    assert report.exit_code == 1


def test_cli_client(capsys: pytest.CaptureFixture[str]) -> None:
    code = xaa_main(["conformance", "client", "--command", XAA_TOKEN, "--only", "happy", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {r["outcome"] for r in report["results"]} == {"pass"}
