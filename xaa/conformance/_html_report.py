"""A self-contained HTML report a person reads (``xaa conformance ... --html FILE``).

One file, inline CSS, no script and nothing fetched: failures first (rule, level,
risk, the cited section, the message, and what was sent and what came back, with
every token redacted by :mod:`xaa.conformance._recording`), then every case grouped
by the section it cites. All text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from ._recording import Exchange
from ._reporters import summary
from ._runner import Outcome, Report, Result

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:21px}
header p{margin:0;color:#c9d1d9}
main{padding:18px 28px;max-width:1180px}
.verdict{font-weight:600;padding:10px 14px;border-radius:6px;margin:0 0 14px}
.verdict.bad{background:#ffebe9;border:1px solid #cf222e;color:#82071e}
.verdict.good{background:#dafbe1;border:1px solid #1a7f37;color:#0a4a1d}
h2{font-size:18px;margin:26px 0 10px}
h3{font-size:15px;margin:18px 0 6px;color:#57606a}
.failure{background:#fff;border:1px solid #d0d7de;border-left:5px solid #cf222e;
border-radius:6px;padding:10px 14px;margin:0 0 12px}
.failure.should{border-left-color:#bf8700}
.failure h4{margin:0 0 6px;font-size:15px;font-family:ui-monospace,monospace}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dt{color:#57606a}dd{margin:0}
details{margin-top:8px}summary{cursor:pointer;color:#0969da}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:8px;
overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12.5px;margin:4px 0}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:8px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:13.5px}
th{background:#eaeef2}
td.id{font-family:ui-monospace,monospace;white-space:nowrap}
.badge{display:inline-block;min-width:44px;text-align:center;border-radius:10px;padding:0 7px;
font-size:12px;font-weight:700}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}
.error{background:#fff1e5;color:#953800}.skip{background:#eaeef2;color:#57606a}
"""


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge {outcome.value}">{escape(outcome.value.upper())}</span>'


def _section(result: Result[Any]) -> str:
    """The first section a case cites: the group it is shown under."""
    return result.case.section.split(",")[0].strip() or "(no section)"


def _exchange(number: int, exchange: Exchange) -> str:
    sent = f"{exchange.method} {exchange.url}\n" + "".join(
        f"{k}: {v}\n" for k, v in exchange.request_headers.items()
    )
    if exchange.request_body:
        sent += "\n" + exchange.request_body
    status = "no answer" if exchange.status is None else f"HTTP {exchange.status}"
    got = status + "\n" + "".join(f"{k}: {v}\n" for k, v in exchange.response_headers.items())
    if exchange.response_body:
        got += "\n" + exchange.response_body
    return (
        f"<details><summary>Request {number}: {escape(exchange.method)} "
        f"{escape(exchange.url)} &rarr; {escape(status)}</summary>"
        f"<h5>Sent</h5><pre>{escape(sent)}</pre><h5>Came back</h5><pre>{escape(got)}</pre>"
        "</details>"
    )


def _failure(result: Result[Any]) -> str:
    case = result.case
    level = case.level.value
    css = "failure" if level == "MUST" else "failure should"
    rows = [
        ("Outcome", _badge(result.outcome)),
        ("Level", escape(level)),
        ("Rule", escape(case.section)),
        ("Risk", escape(case.risk)),
        ("What happened", escape(result.message or "-")),
        ("Tags", escape(", ".join(sorted(case.tags)))),
    ]
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    exchanges = "".join(_exchange(i, e) for i, e in enumerate(result.exchanges, 1))
    if not exchanges:
        exchanges = "<p>No HTTP exchange was recorded for this case.</p>"
    return (
        f'<article class="{css}" id="{escape(case.id)}"><h4>{escape(case.id)}</h4>'
        f"<dl>{body}</dl>{exchanges}</article>"
    )


def _grouped(results: Iterable[Result[Any]]) -> dict[str, list[Result[Any]]]:
    groups: dict[str, list[Result[Any]]] = {}
    for result in results:
        groups.setdefault(_section(result), []).append(result)
    return groups


def _row(result: Result[Any]) -> str:
    case = result.case
    name = escape(case.id)
    if result.broken:  # a link to its details among the failures
        name = f'<a href="#{name}">{name}</a>'
    cells = (escape(case.level.value), escape(case.risk), escape(result.message))
    return (
        f"<tr><td>{_badge(result.outcome)}</td><td class=id>{name}</td>"
        + "".join(f"<td>{cell}</td>" for cell in cells)
        + "</tr>"
    )


def _table(results: list[Result[Any]]) -> str:
    ordered = sorted(results, key=lambda r: not r.broken)  # failures first, stable
    head = "<tr><th>outcome</th><th>case</th><th>level</th><th>risk</th><th>message</th></tr>"
    return f"<table>{head}{''.join(_row(r) for r in ordered)}</table>"


def render_html(report: Report[Any]) -> str:
    """The whole report as one HTML document."""
    broken = [r for r in report.results if r.broken]
    must = report.must_failures
    verdict = (
        f'<p class="verdict bad">{len(must)} MUST rule(s) broken: this target does not conform.</p>'
        if must
        else '<p class="verdict good">No MUST rule broken.</p>'
    )
    failures = "".join(
        f"<h3>{escape(section)}</h3>" + "".join(_failure(r) for r in results)
        for section, results in _grouped(
            sorted(broken, key=lambda r: r.case.level.value != "MUST")
        ).items()
    )
    if not failures:
        failures = "<p>None.</p>"
    groups = _grouped(report.results)
    order = sorted(groups, key=lambda s: not any(r.broken for r in groups[s]))
    sections = "".join(f"<h3>{escape(s)}</h3>{_table(groups[s])}" for s in order)
    title = f"xaa conformance {report.suite} against {report.target}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(summary(report))}</p></header><main>"
        f"{verdict}<section id=failures><h2>Failures ({len(broken)})</h2>{failures}</section>"
        f"<section id=cases><h2>Every case, by section</h2>{sections}</section>"
        "</main></body></html>\n"
    )


__all__ = ["render_html"]
