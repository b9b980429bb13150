"""The case registry, the runner, the reporters: ids, selection, outcomes, exit codes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.docs.draft_sections import draft_part, draft_sections
from xaa import ConfigurationError
from xaa.conformance import (
    IDP,
    RESOURCE_AS,
    SUITES,
    CaseFailed,
    CaseSkipped,
    Level,
    Outcome,
    Suite,
    run_suite,
)
from xaa.conformance._reporters import (
    render_cases_markdown,
    render_json,
    render_table,
    to_json,
    write_junit,
)

ALL_CASES = [case for suite in SUITES for case in suite.cases]


def test_at_least_eighty_cases_across_the_suites() -> None:
    assert len(RESOURCE_AS.cases) >= 70
    assert len(IDP.cases) >= 40
    assert len(ALL_CASES) >= 80


def test_every_case_id_is_unique_and_named_after_its_suite() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    for case in ALL_CASES:
        prefix = {"resource-as": "ras-", "idp": "idp-", "client": "client-"}[case.suite]
        assert case.id.startswith(prefix)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", case.id)


def test_every_case_has_a_section_a_level_and_a_one_line_risk() -> None:
    for case in ALL_CASES:
        assert case.section and ("§" in case.section)
        assert isinstance(case.level, Level)
        assert case.risk and "\n" not in case.risk


def test_every_case_cites_draft_sections_that_exist_in_draft_03() -> None:
    """The draft part of ``section`` (before any RFC) names real draft-03 sections."""
    cited = {case.id: draft_part(case.section) for case in ALL_CASES}
    wrong = {c: s for c, sections in cited.items() for s in sections if s not in draft_sections()}
    assert wrong == {}
    sections = {c.id: c.section for c in ALL_CASES}
    assert sections["ras-metadata-advertises-id-jag-profile"] == "§7.2"
    assert sections["idp-metadata-advertises-id-jag-token-type"] == "§7.1"


def test_the_threats_of_section_b_have_cases() -> None:
    ids = {c.id for c in RESOURCE_AS.cases}
    for expected in (
        "ras-rejects-aud-array-with-two-values",
        "ras-accepts-aud-array-with-one-value",
        "ras-rejects-alg-none",
        "ras-rejects-hs256-keyed-with-public-key-pem",
        "ras-ignores-jku-header",
        "ras-rejects-ecdsa-zero-signature",
        "ras-rejects-client-id-claim-of-another-client",
        "ras-rejects-cnf-without-dpop-proof",
        "ras-rejects-replayed-id-jag",
        "ras-issues-no-refresh-token",
    ):
        assert expected in ids


def _suite() -> Suite[list[str]]:
    suite: Suite[list[str]] = Suite("demo")

    def ok(log: list[str]) -> None:
        log.append("ok")

    def broken(log: list[str]) -> None:
        raise CaseFailed("accepted")

    def skipped(log: list[str]) -> None:
        raise CaseSkipped("needs a setting")

    def crashes(log: list[str]) -> None:
        raise ConnectionError("refused")

    suite.add("demo-ok", ok, section="§1", level=Level.MUST, risk="r", tags=("negative", "a"))
    suite.add("demo-should", broken, section="§2", level=Level.SHOULD, risk="r", tags=("b",))
    suite.add("demo-skip", skipped, section="§3", level=Level.MUST, risk="r", tags=("b",))
    suite.add("demo-error", crashes, section="§4", level=Level.MUST, risk="r")
    return suite


def test_select_by_id_and_tag_and_skip() -> None:
    suite = _suite()
    assert [c.id for c in suite.select(only=["b"])] == ["demo-should", "demo-skip"]
    assert [c.id for c in suite.select(only=["demo-ok", "b"], skip=["demo-skip"])] == [
        "demo-ok",
        "demo-should",
    ]
    assert len(suite.select()) == 4


def test_select_refuses_unknown_selectors() -> None:
    with pytest.raises(ConfigurationError, match="unknown case id or tag"):
        _suite().select(only=["no-such-case"])


def test_registry_refuses_duplicate_and_badly_named_ids() -> None:
    suite = _suite()
    with pytest.raises(ValueError, match="duplicate"):
        suite.add("demo-ok", lambda log: None, section="§", level=Level.MUST, risk="r")
    with pytest.raises(ValueError, match="lowercase"):
        suite.add("Demo_Bad", lambda log: None, section="§", level=Level.MUST, risk="r")


def test_runner_outcomes_and_exit_code() -> None:
    report = run_suite("demo", "http://target", _suite().cases, [])
    outcomes = {r.case.id: r.outcome for r in report.results}
    assert outcomes == {
        "demo-ok": Outcome.PASS,
        "demo-should": Outcome.FAIL,
        "demo-skip": Outcome.SKIP,
        "demo-error": Outcome.ERROR,
    }
    assert [r.case.id for r in report.must_failures] == ["demo-error"]
    assert report.exit_code == 1


def test_a_should_failure_alone_exits_zero() -> None:
    suite = _suite()
    report = run_suite("demo", "t", suite.select(only=["demo-should", "demo-ok"]), [])
    assert report.count(Outcome.FAIL) == 1
    assert report.exit_code == 0


def test_a_negative_case_fails_when_the_happy_path_breaks_after_it() -> None:
    def happy(log: list[str]) -> None:
        raise CaseFailed("HTTP 401 invalid_client")

    report = run_suite("demo", "t", _suite().select(only=["demo-ok"]), [], happy_path=happy)
    (result,) = report.results
    assert result.outcome is Outcome.FAIL
    assert result.message.startswith("happy path broken after this case")


def test_reporters(tmp_path: Path) -> None:
    report = run_suite("demo", "http://target", _suite().cases, [])
    table = render_table(report)
    assert "FAIL  SHOULD" in table and "demo-error" in table
    assert "1 passed, 1 failed, 1 errors, 1 skipped; 1 MUST broken" in table
    data = json.loads(render_json(report))
    assert data == to_json(report)
    assert data["exit_code"] == 1
    assert {r["id"]: r["outcome"] for r in data["results"]}["demo-skip"] == "skip"
    path = tmp_path / "junit.xml"
    write_junit(report, path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "0", "1")
    assert suite.get("skipped") == "2"  # the skip and the SHOULD failure
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["demo-error"].find("error") is not None
    assert cases["demo-should"].find("skipped") is not None
    assert cases["demo-ok"].find("failure") is None


def test_the_docs_list_every_case_as_the_registry_does() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text()
    marker = "<!-- generated by `xaa conformance list --markdown`; a test checks it is current -->"
    assert docs.split(marker)[1].strip() == render_cases_markdown(SUITES).strip()
