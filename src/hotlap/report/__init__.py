"""`hotlap report`: a sweep's decisions as a table, CSV, JSON, Markdown, plots and one HTML file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis, analyze
from hotlap.io import atomic_write_text, scratch_folder
from hotlap.report.formats import get_format, list_formats, register_format
from hotlap.report.plots import draw_all
from hotlap.report.render import render_csv, render_html, render_json, render_markdown, render_table
from hotlap.report.rows import config_rows, csv_columns, document
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


def load_report(store: Store, key: str) -> Report:
    sweep = store.require(key)
    spec = stored_spec(sweep.spec)
    analysis = analyze(
        spec,
        store.configs(sweep.id),
        store.runs(sweep.id, details=False),
        devices=store.run_devices(sweep.id),
        excluded=store.excluded(sweep.id),
    )
    env_path = sweep.directory / "env.json"
    environment = json.loads(env_path.read_text()) if env_path.exists() else None
    return Report(sweep, analysis, environment)


def write_report(report: Report, directory: Path) -> dict[str, Path]:
    """Every registered format into `directory` (report.csv, report.json, report.md, report.html,
    ...) and the PNGs; returns the files by format name and plot name."""
    directory.mkdir(parents=True, exist_ok=True)
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
