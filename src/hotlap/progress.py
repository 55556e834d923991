"""Live progress on the terminal (rich), kept apart from the work it reports on."""

from __future__ import annotations

import math
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

from hotlap.runner import Reporter, RunPlan

__all__ = ["RichReporter"]


class RichReporter(Reporter):
    """A bar over seeds with ETA and the last accuracy, and a transient bar over the current seed's
    epochs."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
            console=self.console,
            transient=False,
        )
        self.seeds_task: Any = None
        self.epoch_task: Any = None
        self.target = 0.0
        self.epochs = 0

    def start(self, plan: RunPlan) -> None:
        self.target = plan.target
        epochs = getattr(plan.config, "epochs", None)
        self.epochs = math.ceil(epochs) if epochs else 0
        self.progress.start()
        description = f"{plan.recipe.name} on {plan.dataset}"
        self.seeds_task = self.progress.add_task(description, total=len(plan.seeds), last="")
        if plan.warmup:
            self.progress.update(self.seeds_task, last="warming up (not timed)")

    def warmup(self, seconds: float) -> None:
        self.progress.update(self.seeds_task, last=f"warmup took {seconds:.1f}s")

    def seed_started(self, seed: int, steps: int) -> None:
        if self.epoch_task is not None:
            self.progress.remove_task(self.epoch_task)
        self.epoch_task = self.progress.add_task(
            f"  seed {seed}", total=self.epochs or None, last=""
        )

    def epoch(self, record: dict[str, Any]) -> None:
        self.progress.update(
            self.epoch_task, completed=record["epoch"], last=f"val_acc {record['val_acc']:.4f}"
        )

    def seed_finished(self, record: dict[str, Any]) -> None:
        if record["status"] == "done":
            last = f"last: {record['tta_accuracy']:.2%} in {record['total_time']:.2f}s"
        else:
            last = f"seed {record['seed']} failed: {record['error']}"
        self.progress.update(self.seeds_task, advance=1, last=last)

    def finish(self) -> None:
        if self.epoch_task is not None:
            self.progress.remove_task(self.epoch_task)
            self.epoch_task = None
        self.progress.stop()
