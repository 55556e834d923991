"""Live progress on the terminal (rich): runs finished / planned with ETA, failures, the best
config so far (a sweep) or the last run (`hotlap run`), the current run's epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hotlap.callbacks.base import Callback, SweepInfo, register_callback
from hotlap.executors.base import Outcome
from hotlap.metrics import Metric
from hotlap.store import RunRecord
from hotlap.sweep.results import ConfigSummary

__all__ = ["RichProgress"]


@register_callback("progress")
class RichProgress(Callback):
    """The progress bar on stderr. `label` given: one config over seeds, as `hotlap run`."""

    def __init__(self, console: Console | None = None, label: str | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.label = label
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failures]}"),
            TextColumn("{task.fields[last]}"),
            TextColumn("{task.fields[epoch]}"),
            console=self.console,
        )
        self.task: Any = None
        self.failures = 0
        self.metric: Metric | None = None
        self.directory: Path | None = None

    def sweep_start(self, info: SweepInfo) -> None:
        self.metric = info.spec.metric(info.spec.primary.metric)
        self.directory = info.sweep.directory
        self.progress.start()
        description = self.label or info.sweep.id
        self.task = self.progress.add_task(
            escape(description),
            total=info.total,
            completed=info.finished,
            failures="",
            last="",
            epoch="",
        )

    def stage(self, name: str, fidelity: str) -> None:
        if name == "promote":
            self.progress.console.print("promoting the best configs to full fidelity")

    def epoch(self, run: RunRecord, record: dict[str, Any]) -> None:
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in list(record.items())[:3]
        )
        self.progress.update(
            self.task, epoch=f"[dim]{escape(f'{run.config_id} seed {run.seed}: {shown}')}[/]"
        )

    def run_end(self, run: RunRecord, outcome: Outcome, best: ConfigSummary | None) -> None:
        if outcome.status != "done":
            self.failures += 1
        fields: dict[str, Any] = {
            "failures": f"[red]{self.failures} failed[/]" if self.failures else "", "epoch": "",
        }  # fmt: skip
        metric = self.metric
        if metric is not None and self.label is not None:
            if outcome.status == "done" and metric.name in outcome.metrics:
                fields["last"] = escape(
                    f"last: {metric.name} {metric.format(outcome.metrics[metric.name])}"
                )
        elif metric is not None and best is not None:
            fields["last"] = escape(
                f"best {best.config_id}: {metric.name} {metric.format(best.mean(metric.name))} (n={best.n})"
            )
        self.progress.update(self.task, advance=1, **fields)

    def message(self, text: str) -> None:
        if text.startswith(("re-queued", "repaired", "promoting", "warning")):
            self.progress.console.print(text, highlight=False, markup=False)

    def sweep_end(self, result: Any) -> None:
        self.progress.stop()
