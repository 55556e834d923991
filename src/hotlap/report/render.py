"""The report as files: CSV, JSON, Markdown and one self-contained HTML file. The terminal's rich
table is hotlap.report.terminal; the cells and sentences all of them share, hotlap.report.cells."""

from __future__ import annotations

import base64
import csv
import functools
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
from hotlap.report.rows import cached, config_rows, csv_columns, csv_rows, document, listed, rows_of
from hotlap.report.terminal import render_table
from hotlap.store import SweepRecord

__all__ = ["render_csv", "render_html", "render_json", "render_markdown", "render_table"]


def render_csv(analysis: Analysis) -> str:
    buffer = io.StringIO()
    columns = csv_columns(analysis)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(csv_rows(analysis))  # (None is written as an empty field)
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


MAX_DOCUMENT_ROWS = 1000  # configs a Markdown or HTML table shows (the CSV and JSON: all)
_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")  # `_` inside words is no emphasis: left as is


def _md(text: str) -> str:
    """Text from outside (variant names, swept values, sentences naming them) as literal Markdown:
    HTML escaped (a `<script>` in a variant name stays text) and Markdown's marks backslashed."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    # a line break would end a table row or start a heading: kept, as a break inside the line
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def shown_rows(analysis: Analysis) -> tuple[list[dict[str, Any]], str | None]:
    """The config rows a document shows (Markdown, HTML): all, or past MAX_DOCUMENT_ROWS the first
    in report order with the baseline and the recommendation, and a sentence saying so. Rows are
    made for those alone (the CSV's 50,000 are not needed for a page of 1,000)."""
    return cached("shown", analysis, lambda: _shown_rows(analysis))


def _shown_rows(analysis: Analysis) -> tuple[list[dict[str, Any]], str | None]:
    reports = listed(analysis)
    if len(reports) <= MAX_DOCUMENT_ROWS:
        return config_rows(analysis), None
    shown = reports[:MAX_DOCUMENT_ROWS]
    shown += [
        r
        for r in reports[MAX_DOCUMENT_ROWS:]
        if r.is_baseline or (r.config_id == analysis.recommendation.config and r.fidelity == "full")
    ]
    cut = (
        f"The first {MAX_DOCUMENT_ROWS:,} of {len(reports):,} configs in report order (and the baseline); "
        "report.csv and report.json hold every one."
    )
    return rows_of(analysis, shown), cut


def render_markdown(analysis: Analysis, sweep: SweepRecord) -> str:
    headers = _headers(analysis)
    lines = [f"# Sweep {_md(sweep.id)}", "", f"{_md(sweep.recipe)} on {_md(sweep.dataset)}.", ""]
    rows, cut = shown_rows(analysis)
    if cut:
        lines += [_md(cut), ""]
    lines += ["| " + " | ".join(_md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
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


def render_html(
    analysis: Analysis,
    sweep: SweepRecord,
    environment: dict[str, Any] | None,
    plots: Sequence[Path],
) -> str:
    """One self-contained HTML file (templates/report.html.j2, autoescaped): no scripts, no network
    fetches; plots embedded as data URIs."""
    import yaml

    lines = [
        {"text": _runs_line(analysis)},
        {"text": _coverage_line(analysis, sweep), "css": "held-false"},
        {"text": _guarantee_line(analysis)},
        {"text": _devices_line(analysis) if analysis.mixes_devices else None, "css": "held-false"},
        *({"text": warning, "css": "held-false"} for warning in analysis.warnings),
        {"text": _constraints_line(analysis), "id": "constraints"},
    ]
    pareto = _pareto_table(analysis)
    line = _verification_line(analysis)
    shown, cut = shown_rows(analysis)
    verification = None
    if line is not None:
        verification = {
            **_html_table(analysis, config_rows(analysis, analysis.verification), "verification"),
            "line": line,
            "css": f"held-{str(analysis.verification_held).lower()}",
        }
    target = analysis.target
    context = {
        "sweep": sweep,
        "target": f"{target.describe()} at {target.confidence:.0%} confidence" if target else None,
        "recommendation": analysis.recommendation.sentence,
        "lines": [line for line in lines if line["text"]],
        "configs": _html_table(analysis, shown, "configs"),
        "cut": cut,
        "pareto": None if pareto is None else _plain_table("pareto", *pareto),
        "verification": verification,
        "plots": [{"name": p.stem, "data": base64.b64encode(p.read_bytes()).decode()} for p in plots],
        "spec": yaml.safe_dump(analysis.spec.to_plain(), sort_keys=False),
        "environment": json.dumps(environment, indent=2) if environment else None,
    }
    return _template().render(context)


@functools.cache
def _template() -> Any:
    import jinja2

    loader = jinja2.PackageLoader("hotlap.report", "templates")
    environment = jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True)
    return environment.get_template("report.html.j2")


def _plain_table(
    table_id: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
) -> dict[str, Any]:
    return {
        "id": table_id,
        "title": title,
        "headers": headers,
        "rows": [{"cells": [{"text": c} for c in row]} for row in rows],
    }


def _html_table(analysis: Analysis, rows: Sequence[dict[str, Any]], table_id: str) -> dict[str, Any]:
    """A config table for the template: headers, and per row its cells and the classes that colour
    the decision and mark the recommendation."""
    out = []
    for row, cells in zip(rows, _table_cells(analysis, rows), strict=True):
        if row["fidelity"] != "full":
            cells[1] += " (low fidelity)"
        recommended = row["config_id"] == analysis.recommendation.config and row["fidelity"] == "full"
        out.append(
            {
                "css": "recommended" if recommended else None,
                "cells": [
                    {"text": cell, "css": row["decision"] if i == 8 and row["decision"] else None}
                    for i, cell in enumerate(cells)
                ],
            }
        )
    return {"id": table_id, "headers": _headers(analysis, long=True), "rows": out}
