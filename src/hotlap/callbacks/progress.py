"""Progress while a sweep runs: runs finished of those planned (at most, with racing), elapsed
time and ETA, failures, the decision rule's current answer (a sweep) or the last run (`hotlap
run`), the current run's epoch.

On a terminal this is rich's live display on stderr. Where stdout or stderr is not a terminal (a
pipe into `tee`, a log file, CI) a live display would print nothing for minutes and then one cut
line, so progress is plain lines on stdout instead: one per finished run, at most one every
`every` seconds (failures and the last run always), each with the whole picture.
"""

from __future__ import annotations

import sys
import time
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
)
from rich.table import Column

from hotlap.analysis.results import ConfigSummary
from hotlap.callbacks.base import (
    Callback,
    EpochEnded,
    Message,
    RunEnded,
    StageStarted,
    SweepEnded,
    SweepInfo,
    register_callback,
)
from hotlap.executors.base import Outcome
from hotlap.metrics import Metric

__all__ = ["RichProgress"]


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@register_callback("progress")
class RichProgress(Callback):
    """Live progress. `label` given: one config over seeds, as `hotlap run`. `plain` None: plain
    lines where stdout or stderr is not a terminal."""

    def __init__(
        self,
        console: Console | None = None,
        label: str | None = None,
        *,
        plain: bool | None = None,
        every: float = 2.0,
    ) -> None:
        self.console = console or Console(stderr=True)
        if plain is None:
            plain = not (self.console.is_terminal and sys.stdout.isatty())
        self.plain = plain
        self.out = Console(soft_wrap=True, highlight=False) if plain else self.console
        self.every = every
        self.label = label

        def fixed() -> Column:  # counts and times: never cut
            return Column(no_wrap=True)

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(
                "{task.description}",
                table_column=Column(max_width=28, no_wrap=True, overflow="ellipsis"),
            ),
            BarColumn(bar_width=12),
            MofNCompleteColumn(table_column=fixed()),
            TextColumn("{task.fields[planned]}", table_column=fixed()),
            TimeElapsedColumn(table_column=fixed()),
            TextColumn("eta", table_column=fixed()),
            TextColumn("{task.fields[eta]}", table_column=fixed()),  # by kind of run: `eta`
            TextColumn("{task.fields[failures]}", table_column=fixed()),
            # The texts last: on a narrow terminal these are cut, never the counts and times.
            TextColumn(
                "{task.fields[last]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=self.console,
            disable=plain,
            expand=True,  # the last text takes what is left of the line (and is cut), the rest keeps its width
        )
        self.task: Any = None
        self.failures = 0
        self.metric: Metric | None = None
        self.directory: Path | None = None
        self.total: int | None = None
        self.done = 0  # finished runs, this session's and the earlier ones
        self.started_with = 0
        self.at_most = False
        self.judges = False
        self.pruned = 0  # runs the pruner stopped (not failures)
        self.begin = time.monotonic()
        self.last_line = 0.0
        self.shown = ""
        self.printed = 0  # finished runs when the last plain line was printed
        # The ETA by kind: runs that trained and runs that evaluated a shared network, their
        # count and seconds this session, and the planned share of evaluations (None: unknown).
        self.evaluations: float | None = None
        self.kinds = {"train": [0, 0.0], "eval": [0, 0.0]}

    def sweep_start(self, info: SweepInfo, **extra: Any) -> None:
        self.metric = info.spec.metric(info.spec.primary.metric)
        self.directory = info.sweep.directory
        self.total, self.done, self.started_with = info.total, info.finished, info.finished
        self.evaluations = info.evaluations
        # racing and pruning stop early, and configs that break a per-config bound never run: the
        # total is a maximum
        self.at_most = (
            info.spec.racing is not None
            or info.spec.pruning is not None
            or any(info.spec.metric(b.metric).scope == "config" for b in info.spec.constraints)
        )
        self.judges = info.spec.target is not None
        self.begin = time.monotonic()
        self.printed = self.done
        description = self.label or info.sweep.id
        planned = "runs at most" if self.at_most else "runs"
        if self.plain:
            total = f"{'at most ' if self.at_most else ''}{self.total} runs" if self.total else "runs"
            self.out.print(f"{description}: {self.done} of {total} done", markup=False)
            return
        self.progress.start()
        self.task = self.progress.add_task(
            escape(description),
            total=info.total,
            completed=info.finished,
            failures="",
            last="",
            planned=planned,
            eta="-:--:--",
        )

    def stage(self, event: StageStarted, **info: Any) -> None:
        name = event.name
        if name == "promote":
            self.out.print("promoting the best configs to full fidelity", markup=False)

    def epoch(self, event: EpochEnded, **info: Any) -> None:
        run, record = event.run, event.record
        if self.plain:
            return  # a line per epoch would bury the progress lines
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in list(record.items())[:3]
        )
        self.progress.update(self.task, last=f"[dim]{escape(f'{run.config_id} seed {run.seed}: {shown}')}[/]")

    def _best(self, outcome: Outcome, best: ConfigSummary | None) -> str:
        metric = self.metric
        if metric is None:
            return ""
        if self.label is not None:
            if outcome.status == "done" and metric.name in outcome.metrics:
                return f"last: {metric.name} {metric.format(outcome.metrics[metric.name])}"
            return ""
        if best is None:
            return "no config passes the target yet" if self.judges else ""
        what = "recommended so far" if self.judges else "best so far"
        return f"{what} {best.config_id}: {metric.name} {metric.format(best.mean(metric.name))} (n={best.n})"

    def run_end(self, event: RunEnded, **info: Any) -> None:
        run, outcome, best = event.run, event.outcome, event.best
        self.done += 1
        if outcome.status == "done" and outcome.wall_time is not None:
            kind = self.kinds["eval" if outcome.source_run is not None else "train"]
            kind[0] += 1
            kind[1] += outcome.wall_time
        if outcome.status == "failed":
            self.failures += 1
        elif outcome.status == "pruned":
            self.pruned += 1
        self.shown = self._best(outcome, best)
        if not self.plain:
            failures = ", ".join(
                ([f"[red]{self.failures} failed[/]"] if self.failures else [])
                + ([f"{self.pruned} pruned"] if self.pruned else [])
            )
            eta = self.eta(time.monotonic() - self.begin)
            self.progress.update(
                self.task,
                advance=1,
                failures=failures,
                last=escape(self.shown),
                eta="-:--:--" if eta is None else _clock(eta),
            )
            return
        now = time.monotonic()
        final = self.total is not None and self.done >= self.total
        if now - self.last_line < self.every and outcome.status == "done" and not final:
            return
        self.last_line = now
        failure = {
            "done": None,
            "pruned": f"config {run.config_id} seed {run.seed} {outcome.error}",
        }.get(outcome.status, f"config {run.config_id} seed {run.seed} FAILED: {outcome.error}")
        self._print_line(now, failure)

    def _print_line(self, now: float, failure: str | None = None) -> None:
        self.printed = self.done
        self.out.print(self._line(now, failure), markup=False)

    def _line(self, now: float, failure: str | None) -> str:
        elapsed = now - self.begin
        parts = [
            f"{self.done}/{self.total} runs" + (" at most" if self.at_most else "")
            if self.total
            else f"{self.done} runs",
            f"{_clock(elapsed)} elapsed",
        ]
        eta = self.eta(elapsed)
        if eta is not None:
            parts.append(f"eta {'at most ' if self.at_most else ''}{_clock(eta)}")
        if self.failures:
            parts.append(f"{self.failures} failed")
        if self.pruned:
            parts.append(f"{self.pruned} pruned")
        if self.shown:
            parts.append(self.shown)
        if failure is not None:
            parts.append(failure)
        return ", ".join(parts)

    def eta(self, elapsed: float) -> float | None:
        """Seconds left: the elapsed time scaled by the work left over the work done, where the
        work weighs trainings and evaluations of a shared network each by its own mean time (an
        evaluation takes a fraction of a training: counted alike, a sweep that trains first would
        look hours long); the runs left, alike, where the share of evaluations is unknown."""
        ran = self.done - self.started_with
        if not self.total or not ran:
            return None
        left = max(0, self.total - self.done)
        (trained, train_s), (evaluated, eval_s) = self.kinds["train"], self.kinds["eval"]
        share = self.evaluations
        if share is None or train_s + eval_s <= 0 or not trained or (share > 0 and not evaluated):
            return elapsed / ran * left
        done_before = self.started_with
        trainings_left = max(0.0, (1 - share) * self.total - trained - done_before * (1 - share))
        evaluations_left = max(0.0, left - trainings_left)
        work_left = trainings_left * train_s / trained + (
            evaluations_left * eval_s / evaluated if evaluated else 0.0
        )
        return elapsed * work_left / (train_s + eval_s)

    def message(self, event: Message, **info: Any) -> None:
        text = event.text
        if text.startswith(("re-queued", "repaired", "promoting", "warning", "excluded")):
            self.out.print(text, highlight=False, markup=False)

    def sweep_end(self, event: SweepEnded, **info: Any) -> None:
        if self.plain and self.done > self.printed:  # the runs since the last line
            self._print_line(time.monotonic())
        self.progress.stop()
