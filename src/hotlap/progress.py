"""Live progress on the terminal (rich), kept apart from the work it reports on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hotlap.executors import Outcome
from hotlap.store import RunRecord, SweepRecord
from hotlap.sweep.engine import SweepReporter, SweepResult
from hotlap.sweep.results import ConfigSummary

__all__ = ["RichSweepReporter", "format_metric"]


def format_metric(value: float | None, metric: str) -> str:
    """Accuracies in percent, times in seconds."""
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if "accuracy" in metric else f"{value:.3f}s"


class RichSweepReporter(SweepReporter):
    """Runs finished / planned with ETA and failures, then the best config so far (a sweep) or
    the last run (`label` given: one config over seeds, as `hotlap run`)."""

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
            console=self.console,
        )
        self.task: Any = None
        self.failures = 0
        self.metric = "tta_accuracy"
        self.directory: Path | None = None

    def start(self, sweep: SweepRecord, total: int | None, finished: int) -> None:
        objective = sweep.spec.get("objective") or [{}]
        self.metric = objective[0].get("metric", "tta_accuracy")
        self.directory = sweep.directory
        self.progress.start()
        description = self.label or sweep.id
        self.task = self.progress.add_task(
            description, total=total, completed=finished, failures="", last=""
        )

    def stage(self, name: str, fidelity: str) -> None:
        if name == "promote":
            self.progress.console.print("promoting the best configs to full fidelity")

    def run_finished(self, run: RunRecord, outcome: Outcome, best: ConfigSummary | None) -> None:
        if outcome.status != "done":
            self.failures += 1
        fields: dict[str, Any] = {
            "failures": f"[red]{self.failures} failed[/]" if self.failures else ""
        }
        if self.label is not None:
            if outcome.status == "done":
                metrics = outcome.metrics
                fields["last"] = (
                    f"last: {format_metric(metrics['tta_accuracy'], 'tta_accuracy')} in {metrics['total_time']:.2f}s"
                )
        elif best is not None:
            fields["last"] = (
                f"best {best.config_id}: {self.metric} {format_metric(best.mean(self.metric), self.metric)} (n={best.n})"
            )
        self.progress.update(self.task, advance=1, **fields)

    def message(self, text: str) -> None:
        if text.startswith(("re-queued", "promoting")):
            self.progress.console.print(text)

    def finish(self, result: SweepResult) -> None:
        self.progress.stop()
