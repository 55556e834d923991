"""The report as files: CSV, JSON, Markdown and one self-contained HTML file. The terminal's rich
table is hotlap.report.terminal; the cells and sentences all of them share, hotlap.report.cells."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.io import to_json
from hotlap.report.cells import (
    _constraints_line,
    _coverage_line,
    _devices_line,
    _guarantee_line,
    _headers,
    _pareto_table,
    _runs_line,
    _table_cells,
    _verification_line,
)
from hotlap.report.rows import config_rows, csv_columns, document, named_rows
from hotlap.report.terminal import render_table
from hotlap.store import SweepRecord

__all__ = ["render_csv", "render_html", "render_json", "render_markdown", "render_table"]


def render_csv(analysis: Analysis) -> str:
    buffer = io.StringIO()
    columns = csv_columns(analysis)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(
        ["" if (value := row.get(column)) is None else value for column in columns]
        for row in named_rows(analysis)
    )
    return buffer.getvalue()


def render_json(analysis: Analysis, sweep: SweepRecord, environment: dict[str, Any] | None) -> str:
    """The document indented, except each config row, which is one line: readable, and written by
    json's C encoder (an indented dump of 5,000 configs takes a second)."""
    data = document(analysis, sweep, environment)
    rows = data.pop("configs")
    head = to_json(data, indent=2)
    assert head.endswith("\n}")
    body = ",\n".join("    " + to_json(row) for row in rows)
    return head[: -len("\n}")] + ',\n  "configs": ' + (f"[\n{body}\n  ]" if rows else "[]") + "\n}\n"


_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")  # `_` inside words is no emphasis: left as is


def _md(text: str) -> str:
    """Text from outside (variant names, swept values, sentences naming them) as literal Markdown:
    HTML escaped (a `<script>` in a variant name stays text) and Markdown's marks backslashed."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    # a line break would end a table row or start a heading: kept, as a break inside the line
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def render_markdown(analysis: Analysis, sweep: SweepRecord) -> str:
    headers = _headers(analysis)
    lines = [f"# Sweep {_md(sweep.id)}", "", f"{_md(sweep.recipe)} on {_md(sweep.dataset)}.", ""]
    lines += ["| " + " | ".join(_md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    rows = config_rows(analysis)
    for row, cells in zip(rows, _table_cells(analysis, rows), strict=True):
        if row["fidelity"] != "full":
            cells[1] += " (low fidelity)"
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    lines += ["", f"**{_md(analysis.recommendation.sentence)}**", "", _md(_runs_line(analysis))]
    if _coverage_line(analysis, sweep):
        lines += ["", f"**{_md(_coverage_line(analysis, sweep))}**"]
    if _guarantee_line(analysis):
        lines += ["", _md(_guarantee_line(analysis))]
    if _devices_line(analysis):
        lines += ["", f"**{_md(_devices_line(analysis))}**"]
    for warning in analysis.warnings:
        lines += ["", f"**{_md(warning)}**"]
    if _constraints_line(analysis):
        lines += ["", _md(_constraints_line(analysis) or "")]
    pareto = _pareto_table(analysis)
    if pareto is not None:
        title, headers, rows = pareto
        lines += [
            "",
            f"## {_md(title)}",
            "",
            "| " + " | ".join(_md(h) for h in headers) + " |",
            "|" + "---|" * len(headers),
            *("| " + " | ".join(_md(c) for c in row) + " |" for row in rows),
        ]
    line = _verification_line(analysis)
    if line:
        lines += ["", _md(line)]
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: right; white-space: nowrap; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
tr.recommended td { font-weight: 600; background: #dafbe1; }
td.pass { color: #1a7f37; } td.fail { color: #cf222e; } td.undecided { color: #9a6700; }
.recommendation { font-size: 1.05rem; padding: 0.75rem 1rem; background: #ddf4ff; border-left: 4px solid #0969da; }
.held-true { color: #1a7f37; font-weight: 600; } .held-false { color: #cf222e; font-weight: 600; }
img { max-width: 100%; margin: 0.5rem 0; border: 1px solid #d0d7de; }
.scroll { overflow-x: auto; max-width: 100%; }
th { white-space: normal; vertical-align: bottom; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
"""


def _html_table(analysis: Analysis, rows: Sequence[dict[str, Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _headers(analysis, long=True))
    body = []
    for row, cells in zip(rows, _table_cells(analysis, rows), strict=True):
        if row["fidelity"] != "full":
            cells[1] += " (low fidelity)"
        tds = []
        for i, cell in enumerate(cells):
            css = f' class="{row["decision"]}"' if i == 8 and row["decision"] else ""
            tds.append(f"<td{css}>{html.escape(cell)}</td>")
        css = (
            ' class="recommended"'
            if row["config_id"] == analysis.recommendation.config and row["fidelity"] == "full"
            else ""
        )
        body.append(f"<tr{css}>{''.join(tds)}</tr>")
    table = f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    return f'<div class="scroll">{table}</div>'  # a wide multi-key table scrolls, the page does not


def render_html(
    analysis: Analysis,
    sweep: SweepRecord,
    environment: dict[str, Any] | None,
    plots: Sequence[Path],
) -> str:
    """One self-contained HTML file: no scripts, no network fetches; plots embedded as data URIs."""
    import yaml

    sections = [
        f"<h1>Sweep {html.escape(sweep.id)}</h1>",
        f"<p>{html.escape(sweep.recipe)} on {html.escape(sweep.dataset)} &middot; state {html.escape(sweep.state)}"
        + (
            f" &middot; target {html.escape(analysis.target.describe())} at {analysis.target.confidence:.0%} confidence"
            if analysis.target
            else ""
        )
        + "</p>",
        f'<p class="recommendation" id="recommendation">{html.escape(analysis.recommendation.sentence)}</p>',
        f"<p>{html.escape(_runs_line(analysis))}</p>",
        f'<p class="held-false">{html.escape(_coverage_line(analysis, sweep))}</p>'
        if _coverage_line(analysis, sweep)
        else "",
        f"<p>{html.escape(_guarantee_line(analysis))}</p>" if _guarantee_line(analysis) else "",
        f'<p class="held-false">{html.escape(_devices_line(analysis) or "")}</p>'
        if analysis.mixes_devices
        else "",
        *(f'<p class="held-false">{html.escape(warning)}</p>' for warning in analysis.warnings),
        f'<p id="constraints">{html.escape(_constraints_line(analysis) or "")}</p>'
        if _constraints_line(analysis)
        else "",
        "<h2>Configs</h2>",
        _html_table(analysis, config_rows(analysis), "configs"),
    ]
    pareto = _pareto_table(analysis)
    if pareto is not None:
        title, headers, rows = pareto
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        sections += [
            "<h2>Pareto front</h2>",
            f"<p>{html.escape(title)}</p>",
            f'<div class="scroll"><table id="pareto"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>',
        ]
    line = _verification_line(analysis)
    if line is not None:
        held = f"held-{str(analysis.verification_held).lower()}"
        sections += [
            "<h2>Screening vs verification</h2>",
            _html_table(analysis, config_rows(analysis, analysis.verification), "verification"),
            f'<p class="{held}">{html.escape(line)}</p>',
        ]
    if plots:
        sections.append("<h2>Plots</h2>")
        for path in plots:
            data = base64.b64encode(path.read_bytes()).decode()
            sections.append(f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">')
    sections += [
        "<h2>Spec</h2>",
        f"<pre>{html.escape(yaml.safe_dump(analysis.spec.to_plain(), sort_keys=False))}</pre>",
    ]
    if environment:
        sections += [
            "<h2>Environment</h2>",
            f"<pre>{html.escape(json.dumps(environment, indent=2))}</pre>",
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>hotlap report: {html.escape(sweep.id)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
