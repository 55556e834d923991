"""Report formats, registered by name: `hotlap report ID --format NAME` prints one, and the report
folder (`hotlap report ID`) holds every registered format as `report.<suffix>`.

A format is one function `render(analysis, sweep, environment, plots) -> str` (environment: the
sweep's env.json, or None; plots: the PNG files drawn for the report, for a format registered with
`plots=True`, else empty). Adding one is a function and `@register_format("name", suffix="ext")`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.errors import HotlapError
from hotlap.registry import Registry
from hotlap.report.render import render_csv, render_html, render_json, render_markdown
from hotlap.store import SweepRecord

__all__ = ["ReportFormat", "get_format", "list_formats", "register_format"]

Render = Callable[[Analysis, SweepRecord, "dict[str, Any] | None", Sequence[Path]], str]


@dataclass(frozen=True)
class ReportFormat:
    name: str
    suffix: str  # the file report.<suffix> in the report folder
    render: Render
    plots: bool = False  # it shows the report's plots: they are drawn before it renders


FORMATS: Registry[ReportFormat] = Registry("report format")


def register_format(name: str, *, suffix: str, plots: bool = False) -> Callable[[Render], Render]:
    """Decorator: register `render(analysis, sweep, environment, plots) -> str` as format `name`,
    written to report.<suffix> (`plots`: it shows the report's PNGs, drawn before it renders)."""

    def decorate(render: Render) -> Render:
        if name == "table":
            raise ValueError("report format 'table' is the terminal's own")
        FORMATS.register(name, ReportFormat(name, suffix, render, plots))
        return render

    return decorate


def get_format(name: str) -> ReportFormat:
    if name not in FORMATS:
        close = difflib.get_close_matches(name, FORMATS.names(), n=1)
        hint = f" (closest: {close[0]})" if close else ""
        raise HotlapError(f"--format {name!r}: expected one of table, {', '.join(list_formats())}{hint}")
    return FORMATS.get(name)


def list_formats() -> list[str]:
    """The registered formats, in the order they were registered (csv, json, md, html, then plugins')."""
    return FORMATS.in_order()


Environment = dict[str, Any] | None


@register_format("csv", suffix="csv")
def _csv(analysis: Analysis, sweep: SweepRecord, environment: Environment, plots: Sequence[Path]) -> str:
    return render_csv(analysis)


@register_format("json", suffix="json")
def _json(analysis: Analysis, sweep: SweepRecord, environment: Environment, plots: Sequence[Path]) -> str:
    return render_json(analysis, sweep, environment)


@register_format("md", suffix="md")
def _markdown(analysis: Analysis, sweep: SweepRecord, environment: Environment, plots: Sequence[Path]) -> str:
    return render_markdown(analysis, sweep)


@register_format("html", suffix="html", plots=True)
def _html(analysis: Analysis, sweep: SweepRecord, environment: Environment, plots: Sequence[Path]) -> str:
    """One self-contained page, the plots embedded."""
    return render_html(analysis, sweep, environment, list(plots))
