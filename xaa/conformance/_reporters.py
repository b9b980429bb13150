"""Report renderers: a readable table, JSON, and JUnit XML for CI systems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._registry import Suite
from ._runner import Outcome, Report

_MARK = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.SKIP: "skip", Outcome.ERROR: "ERROR"}


def render_table(report: Report[Any]) -> str:
    """One line per case (``outcome level id  message``) and a summary line."""
    width = max((len(r.case.id) for r in report.results), default=10)
    lines = [f"xaa conformance {report.suite} against {report.target}", ""]
    for r in report.results:
        line = f"{_MARK[r.outcome]:<5} {r.case.level:<13} {r.case.id:<{width}}"
        if r.message:
            line += f"  {r.message}"
        lines.append(line.rstrip())
        if r.broken:
            lines.append(f"{'':<20}{r.case.section}: {r.case.risk}")
    lines.append("")
    lines.append(summary(report))
    return "\n".join(lines)


def summary(report: Report[Any]) -> str:
    """``N passed, N failed, N errors, N skipped; N MUST broken``."""
    return (
        f"{report.count(Outcome.PASS)} passed, {report.count(Outcome.FAIL)} failed, "
        f"{report.count(Outcome.ERROR)} errors, {report.count(Outcome.SKIP)} skipped; "
        f"{len(report.must_failures)} MUST broken"
    )


def to_json(report: Report[Any]) -> dict[str, Any]:
    """The report as a JSON-ready object."""
    return {
        "suite": report.suite,
        "target": report.target,
        "exit_code": report.exit_code,
        "summary": {o.value: report.count(o) for o in Outcome}
        | {"must_failures": len(report.must_failures)},
        "results": [
            {
                "id": r.case.id,
                "outcome": r.outcome.value,
                "level": r.case.level.value,
                "section": r.case.section,
                "tags": sorted(r.case.tags),
                "risk": r.case.risk,
                "message": r.message,
            }
            for r in report.results
        ],
    }


def render_json(report: Report[Any]) -> str:
    """:func:`to_json`, serialized."""
    return json.dumps(to_json(report), indent=2)


def write_junit(report: Report[Any], path: str | Path) -> None:
    """JUnit XML: one ``testcase`` per case; only MUST failures are ``failure`` elements,
    SHOULD and best-practice failures are reported as ``skipped`` with the reason."""
    must = report.must_failures
    suite = ET.Element(
        "testsuite",
        name=f"xaa-conformance-{report.suite}",
        tests=str(len(report.results)),
        failures=str(sum(1 for r in must if r.outcome is Outcome.FAIL)),
        errors=str(sum(1 for r in must if r.outcome is Outcome.ERROR)),
        skipped=str(len(report.results) - report.count(Outcome.PASS) - len(must)),
    )
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"xaa.conformance.{report.suite}",
            name=r.case.id,
            time=f"{r.seconds:.3f}",
        )
        text = f"{r.case.level} {r.case.section}: {r.case.risk}"
        if r.outcome is Outcome.SKIP:
            ET.SubElement(case, "skipped", message=r.message)
        elif r in must:
            tag = "failure" if r.outcome is Outcome.FAIL else "error"
            ET.SubElement(case, tag, message=r.message).text = text
        elif r.broken:
            ET.SubElement(case, "skipped", message=f"{r.case.level} not met: {r.message}")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    Path(path).write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def render_cases_markdown(suites: Iterable[Suite[Any]]) -> str:
    """Every case as Markdown tables, one per suite (the list in docs/conformance.md)."""
    lines: list[str] = []
    for suite in suites:
        lines += [f"### {suite.name} ({len(suite.cases)} cases)", ""]
        lines += ["| id | level | section | risk |", "|---|---|---|---|"]
        lines += [f"| `{c.id}` | {c.level.value} | {c.section} | {c.risk} |" for c in suite.cases]
        lines.append("")
    return "\n".join(lines)
