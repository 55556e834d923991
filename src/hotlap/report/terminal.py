"""The terminal report (rich): a line per config where the terminal has room, the least
essential columns giving way on a narrow one, the recommendation and what decided it."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import ConfigReport, short_value
from hotlap.report.cells import (
    DECISION_STYLE,
    _cells,
    _constraints_line,
    _coverage_line,
    _devices_line,
    _guarantee_line,
    _headers,
    _pareto_table,
    _runs_line,
    _verification_line,
)
from hotlap.report.rows import config_rows, listed, rows_of, swept_columns
from hotlap.store import SweepRecord

__all__ = ["render_table"]

_NUMBER_COLUMNS = (2, 3, 4, 5, 6, 7, 8, 9)  # then the shown cost metrics' (avg_bits, ...), kept
_DROP_ORDER = (9, 7, 4, 5)  # p, vs baseline, CI, success: all of them stay in report.csv


def _numbers(headers: list[str]) -> list[int]:
    """The number columns of a table with these headers: the fixed ones, then the cost metrics'."""
    return [*_NUMBER_COLUMNS, *range(len(_NUMBER_COLUMNS) + 2, len(headers))]


def _drop_order(headers: list[str]) -> list[int]:
    """The columns that give way on a narrow terminal, first to last: _DROP_ORDER, then the cost
    metrics' but the first, from the last."""
    return [*_DROP_ORDER, *reversed(_numbers(headers)[len(_NUMBER_COLUMNS) + 1 :])]


CONFIG_WIDTH = 16
NOTE_WIDTH = 24  # the undecided configs' reasons ("slower than ..."), folded within it


def _split_header(header: str) -> str:
    """Two lines, so that a column is as wide as its numbers."""
    first, _, rest = header.rpartition(" ")
    return f"{first}\n{rest}" if first and rest else header


def _fit(headers: list[str], rows: list[list[str]], width: int | None, lead: int = CONFIG_WIDTH) -> list[int]:
    """The number columns that fit in `width` next to the leading columns, `lead` wide (dropping
    in _DROP_ORDER)."""
    keep = _numbers(headers)
    if width is None:
        return keep

    for column in _drop_order(headers):
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


def _stacked(row: dict[str, Any], keys: list[str], columns: list[str], label: str) -> str:
    """The swept values under a config's name in the compact table: one short key=value a line,
    so that a narrow column breaks between them, never inside a key or a number (`columns`: the
    keys' columns in the row, `swept_columns`)."""
    if not keys:
        return label
    pairs = [
        f"{k}={escape(short_value(row[column]))}"
        for k, column in zip(_short_keys(keys), columns, strict=True)
    ]
    note = f" ({_note(row)})" if _note(row) else ""
    return "\n".join(pairs) + note


def _short_keys(keys: list[str]) -> list[str]:
    """The swept keys as column headers, less the dotted prefix they all share (`quant.` of
    quant.conv.weight_bits, quant.all.act_bits): the rest still tells them apart."""
    if len(keys) < 2:
        return keys
    parts = [k.split(".") for k in keys]
    shared = 0
    while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return [".".join(p[shared:]) for p in parts]


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


def _shown_rows(reports: list[ConfigReport], analysis: Analysis) -> tuple[list[dict[str, Any]], int]:
    """The rows of the first MAX_TABLE_ROWS reports in the report's order, plus the baseline and
    the recommendation wherever they are; and how many are left out (their rows are not made)."""
    keep = [
        r
        for i, r in enumerate(reports)
        if i < MAX_TABLE_ROWS or r.is_baseline or r.config_id == analysis.recommendation.config
    ]
    return rows_of(analysis, keep), len(reports) - len(keep)


def render_table(analysis: Analysis, sweep: SweepRecord, width: int | None = None) -> Group:
    """The terminal report: configs sorted by the objective, the recommendation, runs, verification.

    With `width` (the terminal's), the least essential columns give way rather than wrap.
    """
    title = f"sweep {sweep.id}: {sweep.recipe} on {sweep.dataset}"
    if analysis.target is not None:
        title += f", target {analysis.target.describe()} at {analysis.target.confidence:.0%} confidence"
    reports = listed(analysis)
    parts: list[Any] = [
        _fidelity_table(analysis, [r for r in reports if r.fidelity == fidelity], fidelity, title, width)
        for fidelity in dict.fromkeys(r.fidelity for r in reports)
    ]
    parts.extend(_summary_lines(analysis, sweep))
    pareto = _pareto_table(analysis)
    if pareto is not None:
        parts.extend(_front_table(*pareto))
    line = _verification_line(analysis)
    if line is not None:
        parts.extend([_verification_table(analysis), Text(line, style="bold")])
    return Group(*parts)


def _note(row: dict[str, Any]) -> str:
    """Why an undecided config got no more seeds, where the decision rule said more than that."""
    undecided = row["decision"] == "undecided" and row["reason"] and row["reason"] != "undecided"
    return escape(row["reason"]) if undecided else ""


def _styled_cells(analysis: Analysis, shown: list[dict[str, Any]], fidelity: str) -> list[list[str]]:
    out = []
    for row in shown:
        cells = [escape(c) for c in _cells(row, analysis)]
        style = DECISION_STYLE.get(row["decision"] or "", "")
        if style:
            cells[8] = f"[{style}]{cells[8]}[/]"
        if row["config_id"] == analysis.recommendation.config and fidelity == "full":
            cells[0] = f"[bold]{cells[0]} *[/]"
        if _note(row):
            cells[1] += f" ({_note(row)})"  # why it got no more seeds
        out.append(cells)
    return out


def _caption(hidden: list[str], left_out: int) -> str | None:
    lines = [f"hidden to fit the terminal: {', '.join(hidden)} (all in report.csv)"] if hidden else []
    if left_out:
        lines.append(
            # (report.html and report.md show the first MAX_DOCUMENT_ROWS: not every config past them)
            f"{left_out:,} more configs, further down the order: every config is in report.csv and report.json"
        )
    return "\n".join(lines) or None


def _fidelity_table(
    analysis: Analysis, reports: list[ConfigReport], fidelity: str, title: str, width: int | None
) -> Table:
    """One fidelity's configs: one line per config where it fits (its name, a column per swept key,
    the numbers); else (a narrow terminal) the swept values under the name."""
    headers = _headers(analysis)
    shown, left_out = _shown_rows(reports, analysis)
    cells_list = _styled_cells(analysis, shown, fidelity)
    names = [_name_cell(row, analysis, cells[0]) for row, cells in zip(shown, cells_list, strict=True)]
    swept = swept_columns(analysis)
    keys = [k for k in swept if k != "variant"]
    columns = [swept[k] for k in keys]
    key_cells = [[escape(short_value(row[column])) for column in columns] for row in shown]
    notes = [_note(row) for row in shown]
    name_width = max([6, *(len(Text.from_markup(n).plain) for n in names)])
    lead = (
        name_width
        + 3
        + sum(max([len(k), *(len(c[i]) for c in key_cells)]) + 3 for i, k in enumerate(_short_keys(keys)))
    )
    essential = [i for i in _numbers(headers) if i not in _drop_order(headers)]
    # A note column where every number still fits beside it; else the notes under the names.
    note_column = any(notes) and (
        width is None or _fit(headers, cells_list, width, lead + NOTE_WIDTH + 3) == _numbers(headers)
    )
    if note_column:
        lead += NOTE_WIDTH + 3
    wide = width is None or lead + _width(headers, cells_list, essential) <= width
    labels = [
        f"{name}\n[dim]{_stacked(row, keys, columns, cells[1])}[/]"
        for name, cells, row in zip(names, cells_list, shown, strict=True)
    ]
    longest = max([0, *(len(line) for label in labels for line in Text.from_markup(label).plain.split("\n"))])
    # the compact form: the optional numbers give way before a key=value line breaks
    keep = _fit(headers, cells_list, width, lead if wide else max(CONFIG_WIDTH, longest + 3))
    hidden = [headers[i] for i in _numbers(headers) if i not in keep]
    table = Table(
        title=title + ("" if fidelity == "full" else " (low-fidelity screening)"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=_caption(hidden, left_out),
        caption_justify="left",
    )
    if not wide:  # the compact form: swept values (and the note) under the name
        room = longest if width is None else width - _width(headers, cells_list, keep) - 3
        table.add_column("config", overflow="fold", min_width=max(CONFIG_WIDTH - 2, min(longest, room)))
        for i in keep:
            table.add_column(_split_header(headers[i]), justify="right", no_wrap=True)
        for label, cells in zip(labels, cells_list, strict=True):
            table.add_row(label, *(cells[i] for i in keep))
        return table
    # numbers and names never wrap; only a note does (in its column, or under the name)
    table.add_column("config", overflow="fold", min_width=name_width, max_width=name_width)
    for key in _short_keys(keys):
        table.add_column(escape(key), justify="right", no_wrap=True)
    for i in keep:
        table.add_column(_split_header(headers[i]), justify="right", no_wrap=True)
    if note_column:
        table.add_column("note", overflow="fold", min_width=NOTE_WIDTH)
    for name, values, cells, note in zip(names, key_cells, cells_list, notes, strict=True):
        numbers = [cells[i] for i in keep]
        if note_column:
            table.add_row(name, *values, *numbers, note)
        else:
            table.add_row(name + (f"\n[dim]{note}[/]" if note else ""), *values, *numbers)
    return table


def _summary_lines(analysis: Analysis, sweep: SweepRecord) -> list[Text]:
    """The recommendation, the runs, and the lines that qualify them (coverage, guarantee,
    devices, warnings, constraints)."""
    parts = [Text(analysis.recommendation.sentence, style="bold"), Text(_runs_line(analysis))]
    styled = [
        (_coverage_line(analysis, sweep), "bold yellow"),
        (_guarantee_line(analysis), "dim"),
        (_devices_line(analysis), "bold red"),
        *((warning, "bold red") for warning in analysis.warnings),
        (_constraints_line(analysis), "bold"),
    ]
    parts.extend(Text(line, style=style) for line, style in styled if line)
    return parts


def _front_table(title: str, headers: list[str], rows: list[list[str]]) -> list[Any]:
    front = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    front.add_column(headers[0], overflow="fold")
    for header in headers[1:]:
        front.add_column(escape(header), justify="right", no_wrap=True)
    for row in rows:
        front.add_row(escape(row[0]), *row[1:])
    return [Text(title, style="bold"), front]


def _verification_table(analysis: Analysis) -> Table:
    """Each verified config's screening and verification side by side."""
    verify = Table(
        title="screening vs verification", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    verify.add_column("config", overflow="fold", min_width=CONFIG_WIDTH - 2)
    for header in (
        "n",
        f"{analysis.quality_metric} %",
        f"{analysis.spec.confidence:.0%} CI %",
        "decision",
        f"{analysis.cost_metric} s",
    ):
        verify.add_column(_split_header(header), justify="right", no_wrap=True)
    verified = {v.config_id for v in analysis.verification}
    screened = [r for r in listed(analysis) if r.fidelity == "full" and r.config_id in verified]
    for stage, rows in (
        ("screening", rows_of(analysis, screened)),
        ("verification", config_rows(analysis, analysis.verification)),
    ):
        for row in rows:
            if row["fidelity"] != "full" or row["config_id"] not in verified:
                continue
            cells = _cells(row, analysis)
            name = _name_cell(row, analysis, escape(row["config_id"]))
            verify.add_row(f"{name} [dim]{stage}[/]", cells[2], cells[3], cells[4], cells[8], cells[6])
    return verify
