"""`hotlap report`: a sweep's decisions as a table, CSV, JSON, Markdown, plots and one HTML file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.io import atomic_write_text
from hotlap.report.plots import draw_all
from hotlap.report.render import render_csv, render_html, render_json, render_markdown, render_table
from hotlap.report.rows import config_rows, csv_columns, document
from hotlap.store import Store, SweepRecord
from hotlap.sweep.analysis import Analysis, analyze
from hotlap.sweep.validate import stored_spec

__all__ = [
    "Report",
    "config_rows",
    "csv_columns",
    "document",
    "load_report",
    "render_csv",
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
        spec, store.configs(sweep.id), store.runs(sweep.id), devices=store.run_devices(sweep.id)
    )
    env_path = sweep.directory / "env.json"
    environment = json.loads(env_path.read_text()) if env_path.exists() else None
    return Report(sweep, analysis, environment)


def write_report(report: Report, directory: Path) -> dict[str, Path]:
    """Every format into `directory`: report.csv, report.json, report.md, report.html and the PNGs."""
    directory.mkdir(parents=True, exist_ok=True)
    plots = draw_all(report.analysis, directory)
    files = {
        "csv": directory / "report.csv",
        "json": directory / "report.json",
        "md": directory / "report.md",
        "html": directory / "report.html",
    }
    atomic_write_text(files["csv"], render_csv(report.analysis))
    atomic_write_text(files["json"], render_json(report.analysis, report.sweep, report.environment))
    atomic_write_text(files["md"], render_markdown(report.analysis, report.sweep))
    atomic_write_text(
        files["html"], render_html(report.analysis, report.sweep, report.environment, plots)
    )
    return {**files, **{path.stem: path for path in plots}}
