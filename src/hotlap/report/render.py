"""The report as text: a rich table for the terminal, Markdown, CSV, JSON, and one HTML file."""

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

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hotlap.io import to_json
from hotlap.report.rows import cached, config_rows, csv_columns, document, named_rows
from hotlap.store import SweepRecord
from hotlap.sweep.analysis import Analysis
from hotlap.sweep.judging import planned_configs

__all__ = ["render_csv", "render_html", "render_json", "render_markdown", "render_table"]

DECISION_STYLE = {"pass": "green", "fail": "red", "undecided": "yellow"}


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _table_cells(analysis: Analysis, rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """`_cells` of each row (fresh lists, callers may change them); the config rows' once per
    analysis, for every table that shows them."""
    if rows is config_rows(analysis):
        shared = cached("cells", analysis, lambda: [_cells(row, analysis) for row in rows])
        return [list(cells) for cells in shared]
    return [_cells(row, analysis) for row in rows]


def short_value(value: Any) -> str:
    """A swept value as a reader wants it: floats to 4 significant digits (TPE's 38.59948084 is
    38.6), everything else as it is."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _cells(row: dict[str, Any], analysis: Analysis) -> list[str]:
    """The display cells of one config row, shared by the terminal, Markdown and HTML tables."""
    swept = analysis.spec.swept_keys
    parts = [
        str(row[k]) if k == "variant" else f"{k}={short_value(row[k])}"
        for k in swept
        if not (k == "variant" and row[k] is None)
    ]
    label = ", ".join(parts) or ("baseline" if row["is_baseline"] else "(base config)")
    if row["is_baseline"] and label != "baseline":
        label += " (baseline)"
    quality, cost = analysis.quality, analysis.cost
    accuracy = quality.format(row["mean_accuracy"], unit=False)
    if row["std_accuracy"] is not None:
        accuracy += f"±{quality.format(row['std_accuracy'], unit=False)}"
    ci = (f"{quality.format(row['ci_low'], unit=False)}-{quality.format(row['ci_high'], unit=False)}"
          if row["ci_low"] is not None else "-")  # fmt: skip
    success = "-"
    if row["success_rate"] is not None:
        success = f"{_pct(row['success_rate'], 0)} ({_pct(row['success_ci_low'], 0)}-{_pct(row['success_ci_high'], 0)})"
    time = cost.format(row["mean_time"], unit=False)
    if row["std_time"] is not None:
        time += f"±{cost.format(row['std_time'], unit=False)}"
    if _vs_quality(analysis):  # the objective is the quality metric: the difference in it
        diff = row["accuracy_diff_vs_baseline"]
        vs = "-" if diff is None else ("+" if diff >= 0 else "") + quality.format(diff, unit=False)
    else:
        vs = "-" if row["time_diff_pct"] is None else f"{row['time_diff_pct']:+.1f}%"
    decision = row["decision"] or "-"
    cells = [
        row["config_id"],
        label,
        str(row["n"]) + (f" ({row['failed']} failed)" if row["failed"] else ""),
    ]
    cells += [accuracy, ci, success, time, vs, decision, _p(row["p_holm_vs_baseline"])]
    return cells


def _vs_quality(analysis: Analysis) -> bool:
    """Whether "vs baseline" is the difference in the quality metric (the study maximizes or
    minimizes it, with no target) rather than in time (the fastest config that reaches a target)."""
    return analysis.target is None and analysis.spec.primary.metric == analysis.quality_metric


def _vs_header(analysis: Analysis) -> str:
    if not _vs_quality(analysis):
        return f"vs baseline ({analysis.cost.name})"
    quality = analysis.quality
    return f"vs baseline ({quality.name}{', points' if quality.percent else ''})"


def _headers(analysis: Analysis, *, long: bool = False) -> list[str]:
    """The table's column names; `long`: the HTML's, which have room to say what each means."""
    quality, cost = analysis.quality, analysis.cost
    acc = f"{quality.name} {quality.shown_unit}".strip()
    time = f"{cost.name} {cost.shown_unit}".strip()
    confidence = f"{analysis.spec.confidence:.0%} CI {quality.shown_unit}".strip()
    target = analysis.target
    success = f"{'≥' if target.maximize else '≤'} {target.shown} (CI)" if target else "success"
    if long:
        confidence = (
            f"{quality.name} {analysis.spec.confidence:.0%} CI {quality.shown_unit}".strip()
        )
        if target:
            success = (f"runs reaching {target.shown} ({'%' if quality.percent else 'share'}, "
                       f"{analysis.spec.confidence:.0%} CI)")  # fmt: skip
        return ["config", "swept values", "n (seeds)", f"mean {acc}", confidence, success,
                f"mean {time}", _vs_header(analysis), "decision", f"p vs baseline ({quality.name}, Holm)"]  # fmt: skip
    return [
        "config",
        "swept values",
        "n",
        acc,
        confidence,
        success,
        time,
        _vs_header(analysis),
        "decision",
        "p (Holm)",
    ]


def _runs_line(analysis: Analysis) -> str:
    if analysis.runs_max is None:
        return f"{analysis.runs_used} runs."
    saved = analysis.runs_saved or 0
    share = 100 * saved / analysis.runs_max if analysis.runs_max else 0.0
    return (f"{analysis.runs_used} runs; giving every config all {len(analysis.spec.seeds)} seeds would have taken "
            f"{analysis.runs_max}: racing saved {saved} runs ({share:.0f}%).")  # fmt: skip


def _coverage_line(analysis: Analysis, sweep: SweepRecord) -> str:
    """Where a sweep is not done, how much of it ran: a partial sweep must not look complete."""
    if sweep.state == "done":
        return ""
    ran = len({c.config_id for c in analysis.configs})
    planned = planned_configs(analysis.spec)
    of = f"{ran} of {planned} configs" if planned else f"{ran} configs"
    why = f" ({sweep.message})" if sweep.message else ""
    return (f"Partial: {of} have runs so far; the sweep is {sweep.state}{why}. The decisions are "
            f"about these configs only; continue it with: hotlap resume {sweep.id}")  # fmt: skip


def _guarantee_line(analysis: Analysis) -> str:
    """What the decisions guarantee (family-wise or per config, alpha, looks): said in the report."""
    promise = analysis.guarantee
    if promise is None or (analysis.target is None and analysis.spec.racing is None):
        return ""
    return f"Decisions: {promise.describe()}."


def _verification_line(analysis: Analysis) -> str | None:
    """What verification found; binding: only a config that passed there is recommended."""
    if not analysis.verification:
        return None
    seeds = analysis.spec.verify_seeds()
    where = f"Verification on {len(seeds)} fresh seeds ({seeds[0]}-{seeds[-1]})"
    first = analysis.candidates[0] if analysis.candidates else None
    if analysis.target is None:
        return f"{where}: no target, so nothing to decide."
    if analysis.verified is not None and analysis.verified == first:
        return f"{where}: the recommendation held (it passes again); only a verified config is recommended."
    if analysis.verified is not None:
        return (f"{where}: the search's first choice {first} did NOT hold; the next candidate "
                f"{analysis.verified} passed and is the recommendation.")  # fmt: skip
    if analysis.recommendation.config is None:
        return f"{where}: no candidate passed, so no config is recommended."
    held = {
        False: "the recommendation did NOT hold (it fails the target on fresh seeds)",
        None: "not complete, or inconclusive (raise verify.seeds and resume)",
        True: "the recommendation held",
    }
    return f"{where}: {held[analysis.verification_held]}."


def _devices_line(analysis: Analysis) -> str | None:
    """Said plainly when timings come from more than one device (--allow-device-change)."""
    if not analysis.mixes_devices:
        return None
    shown = ", ".join(f"{device} ({n} runs)" for device, n in analysis.devices.items())
    return f"Warning: times mix devices: {shown}; compare times only within one device."


# Terminal columns after the config, by cell index, and the order they give way on a narrow terminal.
_NUMBER_COLUMNS = (2, 3, 4, 5, 6, 7, 8, 9)
_DROP_ORDER = (9, 7, 4, 5)  # p, vs baseline, CI, success: all of them stay in report.csv
CONFIG_WIDTH = 16
NOTE_WIDTH = 24  # the undecided configs' reasons ("slower than ..."), folded within it


def _split_header(header: str) -> str:
    """Two lines, so that a column is as wide as its numbers."""
    first, _, rest = header.rpartition(" ")
    return f"{first}\n{rest}" if first and rest else header


def _fit(
    headers: list[str], rows: list[list[str]], width: int | None, lead: int = CONFIG_WIDTH
) -> list[int]:
    """The number columns that fit in `width` next to the leading columns, `lead` wide (dropping
    in _DROP_ORDER)."""
    keep = list(_NUMBER_COLUMNS)
    if width is None:
        return keep

    for column in _DROP_ORDER:
        if lead + _width(headers, rows, keep) <= width:
            break
        keep.remove(column)
    return keep


def _width(headers: list[str], rows: list[list[str]], columns: list[int]) -> int:
    """The terminal width the number columns `columns` take, padding included."""
    total = 0
    for i in columns:
        lines = _split_header(headers[i]).split("\n") + [Text.from_markup(r[i]).plain for r in rows]
        total += max(len(line) for line in lines) + 3
    return total


def _name_cell(row: dict[str, Any], analysis: Analysis, marked: str) -> str:
    """A config's name in the terminal table: its variant where the sweep names them, else its id
    (`marked`: the id cell, in bold with a * for the recommendation)."""
    name = row.get("variant") if "variant" in analysis.spec.swept_keys else None
    if name:
        text = escape(str(name))
        if marked.startswith("[bold]"):
            text = f"[bold]{text} *[/]"
    else:
        text = marked
    return text + (" [dim](baseline)[/]" if row["is_baseline"] and name != "baseline" else "")


MAX_TABLE_ROWS = 30  # configs per table in the terminal; the files hold every one


def _shown_rows(rows: list[dict[str, Any]], analysis: Analysis) -> tuple[list[dict[str, Any]], int]:
    """The first MAX_TABLE_ROWS rows in the report's order, plus the baseline and the
    recommendation wherever they are; and how many rows are left out."""
    if len(rows) <= MAX_TABLE_ROWS:
        return rows, 0
    keep = [
        r for i, r in enumerate(rows)
        if i < MAX_TABLE_ROWS or r["is_baseline"] or r["config_id"] == analysis.recommendation.config
    ]  # fmt: skip
    return keep, len(rows) - len(keep)


def render_table(analysis: Analysis, sweep: SweepRecord, width: int | None = None) -> Group:
    """The terminal report: configs sorted by the objective, the recommendation, runs, verification.

    With `width` (the terminal's), the least essential columns give way rather than wrap.
    """
    parts: list[Any] = []
    headers = _headers(analysis)
    title = f"sweep {sweep.id}: {sweep.recipe} on {sweep.dataset}"
    if analysis.target is not None:
        title += (
            f", target {analysis.target.describe()} at {analysis.target.confidence:.0%} confidence"
        )
    rows = config_rows(analysis)
    for fidelity in dict.fromkeys(r["fidelity"] for r in rows):
        cells_list = []
        shown, left_out = _shown_rows([r for r in rows if r["fidelity"] == fidelity], analysis)
        for row in shown:
            cells = [escape(c) for c in _cells(row, analysis)]
            style = DECISION_STYLE.get(row["decision"] or "", "")
            if style:
                cells[8] = f"[{style}]{cells[8]}[/]"
            if row["config_id"] == analysis.recommendation.config and fidelity == "full":
                cells[0] = f"[bold]{cells[0]} *[/]"
            if row["decision"] == "undecided" and row["reason"] and row["reason"] != "undecided":
                cells[1] += f" ({escape(row['reason'])})"  # why it got no more seeds
            cells_list.append(cells)
        # One line per config where it fits: its name (the variant, else the id), a column per
        # swept key, the numbers; else (a narrow terminal) the swept values under the name.
        names = [
            _name_cell(row, analysis, cells[0])
            for row, cells in zip(shown, cells_list, strict=True)
        ]
        keys = [k for k in analysis.spec.swept_keys if k != "variant"]
        key_cells = [[escape(short_value(row[k])) for k in keys] for row in shown]
        notes = [escape(row["reason"]) if row["decision"] == "undecided" and row["reason"]
                 and row["reason"] != "undecided" else "" for row in shown]  # fmt: skip
        name_width = max([6, *(len(Text.from_markup(n).plain) for n in names)])
        lead = name_width + 3
        lead += sum(max([len(k), *(len(c[i]) for c in key_cells)]) + 3 for i, k in enumerate(keys))
        essential = [i for i in _NUMBER_COLUMNS if i not in _DROP_ORDER]
        # A note column where every number still fits beside it; else the notes under the names.
        note_column = any(notes) and (
            width is None
            or _fit(headers, cells_list, width, lead + NOTE_WIDTH + 3) == list(_NUMBER_COLUMNS)
        )
        if note_column:
            lead += NOTE_WIDTH + 3
        wide = width is None or lead + _width(headers, cells_list, essential) <= width
        if not wide:  # the compact form: swept values (and the note) under the name
            lead = CONFIG_WIDTH
        keep = _fit(headers, cells_list, width, lead)
        hidden = [headers[i] for i in _NUMBER_COLUMNS if i not in keep]
        table = Table(
            title=title + ("" if fidelity == "full" else " (low-fidelity screening)"), title_justify="left",
            box=box.SIMPLE_HEAD, pad_edge=False,
            caption="\n".join(
                ([f"hidden to fit the terminal: {', '.join(hidden)} (all in report.csv)"] if hidden else [])
                + ([f"{left_out} more configs, further down the order: every config is in report.csv and "
                    "report.html"] if left_out else [])
            ) or None,
            caption_justify="left",
        )  # fmt: skip
        if (
            wide
        ):  # numbers and names never wrap; only a note does (in its column, or under the name)
            table.add_column("config", overflow="fold", min_width=name_width, max_width=name_width)
            for key in keys:
                table.add_column(escape(key), justify="right", no_wrap=True)
        else:
            table.add_column("config", overflow="fold", min_width=CONFIG_WIDTH - 2)
        for i in keep:
            table.add_column(_split_header(headers[i]), justify="right", no_wrap=True)
        if wide and note_column:
            table.add_column("note", overflow="fold", min_width=NOTE_WIDTH)
        for name, values, cells, note in zip(names, key_cells, cells_list, notes, strict=True):
            if wide and note_column:
                table.add_row(name, *values, *(cells[i] for i in keep), note)
            elif wide:
                table.add_row(
                    name + (f"\n[dim]{note}[/]" if note else ""), *values, *(cells[i] for i in keep)
                )
            else:
                table.add_row(f"{name}\n[dim]{cells[1]}[/]", *(cells[i] for i in keep))
        parts.append(table)
    parts.append(Text(analysis.recommendation.sentence, style="bold"))
    parts.append(Text(_runs_line(analysis)))
    if _coverage_line(analysis, sweep):
        parts.append(Text(_coverage_line(analysis, sweep), style="bold yellow"))
    if _guarantee_line(analysis):
        parts.append(Text(_guarantee_line(analysis), style="dim"))
    devices = _devices_line(analysis)
    if devices:
        parts.append(Text(devices, style="bold red"))
    for warning in analysis.warnings:
        parts.append(Text(warning, style="bold red"))
    line = _verification_line(analysis)
    if line is not None:
        verify = Table(
            title="screening vs verification",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        verify.add_column("config", overflow="fold", min_width=CONFIG_WIDTH - 2)
        for header in ("n", f"{analysis.quality_metric} %", f"{analysis.spec.confidence:.0%} CI %", "decision",
                       f"{analysis.cost_metric} s"):  # fmt: skip
            verify.add_column(_split_header(header), justify="right", no_wrap=True)
        verified = {v.config_id for v in analysis.verification}
        for stage, reports in (
            ("screening", analysis.configs),
            ("verification", analysis.verification),
        ):
            for row in config_rows(analysis, reports):
                if row["fidelity"] != "full" or row["config_id"] not in verified:
                    continue
                cells = _cells(row, analysis)
                name = _name_cell(row, analysis, escape(row["config_id"]))
                verify.add_row(
                    f"{name} [dim]{stage}[/]", cells[2], cells[3], cells[4], cells[8], cells[6]
                )
        parts.extend([verify, Text(line, style="bold")])
    return Group(*parts)


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
    return (
        head[: -len("\n}")] + ',\n  "configs": ' + (f"[\n{body}\n  ]" if rows else "[]") + "\n}\n"
    )


_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")  # `_` inside words is no emphasis: left as is


def _md(text: str) -> str:
    """Text from outside (variant names, swept values, sentences naming them) as literal Markdown:
    HTML escaped (a `<script>` in a variant name stays text) and Markdown's marks backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


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
        "<h2>Configs</h2>",
        _html_table(analysis, config_rows(analysis), "configs"),
    ]
    line = _verification_line(analysis)
    if line is not None:
        held = f"held-{str(analysis.verification_held).lower()}"
        sections += ["<h2>Screening vs verification</h2>",
                     _html_table(analysis, config_rows(analysis, analysis.verification), "verification"),
                     f'<p class="{held}">{html.escape(line)}</p>']  # fmt: skip
    if plots:
        sections.append("<h2>Plots</h2>")
        for path in plots:
            data = base64.b64encode(path.read_bytes()).decode()
            sections.append(
                f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
            )
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
