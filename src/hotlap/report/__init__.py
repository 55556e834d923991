"""`hotlap report`: a sweep's decisions as a table, CSV, JSON, Markdown, plots and one HTML file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis, analyze
from hotlap.io import atomic_write_text, scratch_folder
from hotlap.report.figures import for_print
from hotlap.report.formats import get_format, list_formats, register_format
from hotlap.report.plots import draw_all
from hotlap.report.render import render_csv, render_html, render_json, render_markdown, render_table
from hotlap.report.rows import config_rows, csv_columns, document
from hotlap.spec.posthoc import rejudged
from hotlap.spec.schema import SweepSpec
from hotlap.spec.validate import stored_spec
from hotlap.store import Store, SweepRecord

__all__ = [
    "Report",
    "config_rows",
    "csv_columns",
    "document",
    "get_format",
    "list_formats",
    "load_report",
    "register_format",
    "render_csv",
    "render_format",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "write_report",
]


@dataclass(frozen=True)
class Report:
    sweep: SweepRecord
    analysis: Analysis
    environment: dict[str, Any] | None


def load_report(store: Store, key: str, objective: Sequence[str] = ()) -> Report:
    """The report of stored sweep `key`; `objective`: `objective.*` overrides that judge it again
    with another target, confidence or cost, without running anything (`hotlap.spec.posthoc`)."""
    sweep = store.require(key)
    stored = stored_spec(sweep.spec)
    spec = rejudged(stored, objective)
    analysis = analyze(
        spec,
        store.configs(sweep.id),
        store.runs(sweep.id, details=False),
        devices=store.run_devices(sweep.id),
        excluded=store.excluded(sweep.id),
    )
    if objective:
        note = _rejudged_note(stored, analysis)
        analysis = dataclasses.replace(analysis, warnings=(note, *analysis.warnings))
    env_path = sweep.directory / "env.json"
    environment = json.loads(env_path.read_text()) if env_path.exists() else None
    return Report(sweep, analysis, environment)


def _rejudged_note(stored: SweepSpec, analysis: Analysis) -> str:
    """What a report judged with an objective given after the runs must say."""
    target = analysis.target
    now = target.describe() if target is not None else "no target"
    before = "no target"
    if stored.target is not None and stored.target.metric is not None:
        metric = stored.metric(stored.target.metric)
        shown = metric.format(stored.target.threshold)
        before = f"{metric.name} {'within ' + shown + ' of the baseline' if stored.target.within else shown}"
    text = (
        f"Note: judged after the runs against {now} at {analysis.spec.confidence:.0%} confidence "
        f"(given to the report), not what the sweep ran with ({before}); nothing was run again. "
    )
    if stored.racing is not None or stored.verify is not None:
        return text + (
            "Racing and verification chose seeds and candidates for the sweep's own objective: read these "
            "decisions as after the fact."
        )
    return text + (
        "Every config ran on the same fixed seeds, so the decisions hold as stated, if the target was not "
        "chosen by looking at these results."
    )


def write_report(report: Report, directory: Path, *, printed: bool = False) -> dict[str, Path]:
    """Every registered format into `directory` (report.csv, report.json, report.md, report.html,
    ...) and the PNGs; returns the files by format name and plot name. `printed`: the PNGs at 300
    dpi, each with a vector PDF beside it (for a paper)."""
    directory.mkdir(parents=True, exist_ok=True)
    with for_print() if printed else contextlib.nullcontext():
        plots = draw_all(report.analysis, directory)
    files = {}
    for name in list_formats():
        form = get_format(name)
        files[name] = directory / f"report.{form.suffix}"
        text = form.render(report.analysis, report.sweep, report.environment, plots if form.plots else [])
        atomic_write_text(files[name], text)
    return {**files, **{path.stem: path for path in plots}}


def render_format(report: Report, name: str) -> str:
    """One format's text (its plots, where it shows them, drawn into a scratch folder)."""
    form = get_format(name)
    if not form.plots:
        return form.render(report.analysis, report.sweep, report.environment, [])
    with scratch_folder("hotlap-plots-") as scratch:  # one a killed report left is removed here
        plots = draw_all(report.analysis, scratch)
        return form.render(report.analysis, report.sweep, report.environment, plots)
