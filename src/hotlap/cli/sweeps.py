"""Driving sweeps and reading their state: `sweep`, `resume`, `status`, `ls`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hotlap.cli.app import (
    CallbackOpt,
    DataDirOpt,
    DeviceChangeOpt,
    ExecutorOpt,
    RetryOpt,
    SpecOverrides,
    WarmupOpt,
    WorkdirOpt,
    app,
    console,
)
from hotlap.cli.driving import _drive, _executor, _print_status
from hotlap.cli.examples import epilog
from hotlap.errors import HotlapError


def _cli_overrides(executor: str | None, callbacks: list[str] | None, spec_callbacks: list[str]) -> list[str]:
    """--executor and --callback as spec overrides (stored with the sweep)."""
    items = [f"executor={executor}"] if executor else []
    if callbacks:
        merged = list(dict.fromkeys([*spec_callbacks, *callbacks]))
        items.append(f"callbacks=[{', '.join(merged)}]")
    return items


@app.command(epilog=epilog("sweep"))
def sweep(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="sweep spec")],
    overrides: SpecOverrides = None,
    workdir: WorkdirOpt = None,
    retry_failed: RetryOpt = False,
    data_dir: DataDirOpt = None,
    warmup: WarmupOpt = True,
    executor: ExecutorOpt = None,
    callback: CallbackOpt = None,
    allow_device_change: DeviceChangeOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the plan (hotlap plan) and run nothing")
    ] = False,
) -> None:
    """Run a sweep to its end; the same command continues it after a crash or Ctrl-C."""
    from hotlap.engine.session import open_sweep
    from hotlap.spec.validate import load_spec, shadowed
    from hotlap.store import open_store

    spec = load_spec(spec_path, overrides or [])
    extra = _cli_overrides(executor, callback, spec.callbacks)
    if extra:
        spec = load_spec(spec_path, [*(overrides or []), *extra])
    for warning in shadowed(spec):
        print(f"hotlap: {warning}", file=sys.stderr)
    if dry_run:
        _print_plan(spec, workdir)
        return
    runner = _executor(spec, data_dir, warmup)
    try:
        with open_store(workdir) as store:
            record, created = open_sweep(store, spec)
            console.print(f"{'starting' if created else 'continuing'} sweep {record.id}")
            _drive(store, record, runner, retry_failed, data_dir, allow_device_change, warmup)
    finally:
        runner.shutdown()


@app.command(epilog=epilog("plan"))
def plan(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="sweep spec")],
    overrides: SpecOverrides = None,
    workdir: WorkdirOpt = None,
) -> None:
    """What `hotlap sweep SPEC` would do: configs, seeds, stages, runs, time; nothing is run or written."""
    from hotlap.spec.validate import load_spec, shadowed

    spec = load_spec(spec_path, overrides or [])
    for warning in shadowed(spec):
        print(f"hotlap: {warning}", file=sys.stderr)
    _print_plan(spec, workdir)


def _count(low: int | None, high: int | None) -> str:
    if high is None:
        return "up to the budget"
    return f"{high:,}" if low == high or low is None else f"{low:,}-{high:,}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _print_plan(spec: Any, workdir: Path | None) -> None:
    """The plan of `spec`, with what the store (if there is one) says; opens nothing for writing."""
    from hotlap.api import plan_sweep

    planned = plan_sweep(spec, workdir=workdir)
    device, changed, existing = planned.device, planned.changed, planned.existing
    strategy = spec.strategy.name + (f", {spec.strategy.trials} trials" if spec.strategy.trials else "")
    console.print(
        f"plan for sweep {spec.name}: {spec.recipe_label} on {spec.dataset}, strategy {strategy}, "
        f"device {spec.device} ({device})",
        highlight=False,
        markup=False,
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column, justify in (
        ("stage", "left"),
        ("configs", "right"),
        ("seeds", "right"),
        ("runs", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for stage in planned.stages:
        seeds = _count(stage.seeds_min, stage.seeds_max) + (
            " (racing)" if stage.seeds_min != stage.seeds_max else ""
        )
        configs = "budget" if stage.configs is None else f"{stage.configs:,}"
        table.add_row(escape(stage.name), configs, seeds, _count(stage.runs_min, stage.runs_max))
    console.print(table)
    budget = [
        f"{k} {v:g}" for k, v in (("max_runs", spec.budget.max_runs), ("max_time", spec.budget.max_time)) if v
    ]
    runs = _count(planned.runs_min, planned.runs_max)
    console.print(
        f"runs: {runs}"
        + (
            " (at least if every race closes at its first look, at most with all seeds)"
            if planned.runs_min != planned.runs_max
            else ""
        )
        + (f"; budget {', '.join(budget)}" if budget else "")
        + (
            f"; pruning ({spec.pruning.rule} on the epochs' {spec.pruning.metric}) runs fewer: a config "
            "whose first run falls behind stops there"
            if spec.pruning is not None
            else ""
        ),
        highlight=False,
        markup=False,
    )
    if planned.seconds_per_run is not None:
        low, high = planned.seconds(planned.runs_min), planned.seconds(planned.runs_max)
        span = (
            _duration(high or 0)
            if low == high or low is None
            else f"{_duration(low)} to {_duration(high or 0)}"
        )
        console.print(f"time: {_time_line(planned, span)}", highlight=False, markup=False)
    else:
        console.print(
            f"time: no earlier run of {spec.recipe_label} on {spec.dataset} on this device in the store to "
            "estimate from",
            highlight=False,
            markup=False,
        )
    for note in planned.notes:
        console.print(f"decisions: {note}", highlight=False, markup=False)
    if planned.stored_id is None:
        console.print(
            f"store: no sweep named {spec.name} yet; hotlap sweep starts it",
            highlight=False,
            markup=False,
        )
    elif changed:
        console.print(
            f"store: sweep {planned.stored_id} exists and this spec changes {', '.join(changed)}: hotlap sweep "
            "would refuse it (give the sweep a new name)",
            highlight=False,
            markup=False,
        )
    else:
        assert existing is not None
        counts = ", ".join(f"{n} {s}" for s, n in existing.items())
        console.print(
            f"store: sweep {planned.stored_id} exists ({counts}); hotlap sweep continues it",
            highlight=False,
            markup=False,
        )
    console.print("nothing was run or written", style="dim")


@app.command(epilog=epilog("resume"))
def resume(
    sweep_id: Annotated[str, typer.Argument(metavar="ID", help="sweep id or name")],
    overrides: SpecOverrides = None,
    workdir: WorkdirOpt = None,
    retry_failed: RetryOpt = False,
    data_dir: DataDirOpt = None,
    warmup: WarmupOpt = True,
    executor: ExecutorOpt = None,
    callback: CallbackOpt = None,
    allow_device_change: DeviceChangeOpt = False,
) -> None:
    """Continue a sweep from the store (FIELD=VALUE may change its budget, device or executor)."""
    from hotlap.api import resumed_spec
    from hotlap.engine.session import open_sweep
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        record = store.require(sweep_id)
        extra = _cli_overrides(executor, callback, record.spec.get("callbacks") or [])
        spec = resumed_spec(store, sweep_id, [*(overrides or []), *extra])
        runner = _executor(spec, data_dir, warmup)
        try:
            record, _ = open_sweep(store, spec)
            console.print(f"continuing sweep {record.id}")
            _drive(store, record, runner, retry_failed, data_dir, allow_device_change, warmup)
        finally:
            runner.shutdown()


@app.command(epilog=epilog("status"))
def status(
    sweep_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="sweep id or name [the latest]")
    ] = None,
    workdir: WorkdirOpt = None,
) -> None:
    """Counts by status, progress and the best config so far."""
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        if sweep_id is None:
            sweeps = store.sweeps()
            if not sweeps:
                raise HotlapError(f"no sweeps in {store.workdir}")
            record = sweeps[-1]
        else:
            record = store.require(sweep_id)
        _print_status(store, record)


def packed(parts: list[str], width: int) -> list[str]:
    """`parts` joined with "; " into lines of at most `width` characters, broken only between
    parts (a part longer than the line gets a line of its own): dates and numbers stay whole."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += "; " + part
        else:
            lines.append(part)
    return lines


def _time_line(planned: Any, span: str) -> str:
    """The estimate and what it rests on: comparable earlier runs (the same trainings, evaluations
    of shared networks apart) with their quartile range, or the recipe's median run."""
    spec, found = planned.spec, planned.estimate
    where = f"{spec.recipe_label} on {spec.dataset} on this device"
    if found is None:
        return (
            f"about {span} of runs at {planned.seconds_per_run:.2f} s a run (the median of "
            f"{planned.history} earlier runs of {where})"
        )
    low_run, high_run = planned.seconds_range
    low, high = planned.seconds(planned.runs_max, low_run), planned.seconds(planned.runs_max, high_run)
    mix = f"{found.trainings} training{'s' if found.trainings != 1 else ''}"
    if found.evaluations:
        mix += f" and {found.evaluations} evaluations of a shared network"
    text = (
        f"about {span} of runs ({_duration(low or 0)} to {_duration(high or 0)} at most, from the quartiles), "
        f"{planned.seconds_per_run:.2f} s a run on average: {mix} per seed, from {found.history} earlier "
        f"runs of {where}"
    )
    if found.rough:
        text += (
            f"; rough: {found.trainings - found.comparable} of the trainings never ran here (the recipe's "
            "other trainings stand in)"
            if found.comparable < found.trainings
            else "; rough: no evaluation of a shared network ran here (trainings stand in)"
        )
    return text


@app.command("ls", epilog=epilog("ls"))
def list_sweeps(workdir: WorkdirOpt = None) -> None:
    """The sweeps in the store with their state."""
    from hotlap.engine.session import is_locked
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        sweeps = [(record, store.counts(record.id)) for record in store.sweeps()]
    headers = ("sweep", "recipe", "dataset", "state", "done", "failed", "queued", "updated")
    rows = []
    for record, counts in sweeps:
        state = record.state
        if state == "running" and not is_locked(record.directory):
            state = "interrupted"
        rows.append(
            (
                record.id,
                record.recipe,
                record.dataset,
                state,
                str(counts["done"]),
                str(counts["failed"]),
                str(counts["queued"] + counts["running"]),
                record.updated[:16].replace("T", " "),
            )
        )
    # The id is what every other command takes: never cut. Where the table does not fit the
    # terminal, each sweep is its id on a line of its own and the rest on the line below.
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    if sum(widths) + 3 * (len(headers) - 1) <= console.width:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for index, header in enumerate(headers):
            table.add_column(header, no_wrap=True, justify="right" if 4 <= index <= 6 else "left")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
        return
    for row in rows:
        sweep_id, recipe, dataset, state, done, failed, queued, updated = row
        console.print(sweep_id, highlight=False, markup=False, soft_wrap=True)
        parts = [
            f"{state}: {done} done, {failed} failed, {queued} queued",
            f"{recipe} on {dataset}",
            f"updated {updated}",
        ]
        for line in packed(parts, console.width - 2):
            console.print(f"  {line}", highlight=False, markup=False, style="dim", soft_wrap=True)
