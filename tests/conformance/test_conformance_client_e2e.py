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
STEP_UP = f"{PYTHON} {shlex.quote(str(Path(__file__).with_name('step_up_client.py')))}"
STEP_UP_CASES = {c.id for c in CLIENT.cases if "step-up" in c.tags}


def test_xaa_token_passes_every_client_case() -> None:
    """``xaa token`` never calls the API: the step-up cases are skipped, with the reason."""
    report = run_client_suite(ClientTarget(XAA_TOKEN))
    assert [(r.case.id, r.message) for r in report.results if r.outcome is Outcome.FAIL] == []
    skipped = {r.case.id: r.message for r in report.results if r.outcome is Outcome.SKIP}
    assert set(skipped) == STEP_UP_CASES
    assert all("never called XAA_RESOURCE" in message for message in skipped.values())
    assert report.count(Outcome.ERROR) == 0
    assert report.exit_code == 0


@pytest.mark.parametrize(
    ("mode", "flagged"),
    [
        ("once", set()),
        ("loop", {"client-does-not-loop-on-insufficient-scope"}),
        ("forget", {"client-steps-up-scope-once-on-insufficient-scope"}),
    ],
)
def test_scope_step_up(mode: str, flagged: set[str]) -> None:
    report = run_client_suite(ClientTarget(f"{STEP_UP} {mode}"), only=["happy", "step-up"])
    assert {r.case.id for r in report.results if r.outcome is Outcome.PASS} >= (
        STEP_UP_CASES - flagged
    )
    assert {r.case.id for r in report.results if r.broken} == flagged


def test_a_naive_client_is_flagged_for_exactly_what_it_does_not_check() -> None:
    report = run_client_suite(ClientTarget(NAIVE))
    flagged = {r.case.id for r in report.results if r.broken}
    safe_by_crashing = {
        "client-rejects-200-with-error-body",
        "client-rejects-exchange-response-without-token",
        "client-refuses-token-endpoint-on-another-origin",  # it never reads metadata
    }
    negatives = {c.id for c in CLIENT.cases if c.negative}
    assert flagged == negatives - safe_by_crashing - STEP_UP_CASES  # it never calls the API
    assert report.exit_code == 1


def test_cli_client(capsys: pytest.CaptureFixture[str]) -> None:
    code = xaa_main(["conformance", "client", "--command", XAA_TOKEN, "--only", "happy", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {r["outcome"] for r in report["results"]} == {"pass"}
