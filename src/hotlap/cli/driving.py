"""Driving a sweep from the command line: its executor, the engine with the progress display and
callbacks, the derived sweep a spec's `reweight` and `hotlap eval` ask for, and the status panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from hotlap.cli.app import console, interrupted
from hotlap.errors import HotlapError


def _executor(spec: Any, data_dir: Path | None, warmup: bool = True) -> Any:
    """The spec's executor, with the data loaded and the device checked: before any write."""
    from hotlap.api import prepared_executor

    return prepared_executor(spec, data_dir=data_dir, warmup=warmup)


def _drive(
    store: Any,
    sweep: Any,
    executor: Any,
    retry_failed: bool,
    data_dir: Path | None,
    allow_device_change: bool = False,
    warmup: bool = True,
) -> None:
    from hotlap.api import drive
    from hotlap.callbacks.progress import RichProgress
    from hotlap.spec.validate import stored_spec

    try:
        result = drive(
            store,
            sweep,
            executor,
            callbacks=[("progress", RichProgress())],
            retry_failed=retry_failed,
            data_dir=data_dir,
            allow_device_change=allow_device_change,
        )
    except KeyboardInterrupt:
        raise interrupted(
            f"[yellow]interrupted[/]: finished runs are stored; resume with:\n  hotlap resume {sweep.id}"
        ) from None
    try:
        _after(store, stored_spec(sweep.spec), result, data_dir, warmup)
    except KeyboardInterrupt:  # the sweep itself is complete and stored: only the summary is cut
        raise interrupted(
            f"[yellow]interrupted[/] while printing the summary; the sweep is stored: "
            f"hotlap report {sweep.id}"
        ) from None


def _after(store: Any, spec: Any, result: Any, data_dir: Path | None, warmup: bool) -> None:
    """What `sweep` and `resume` print once the engine is done, and the derived sweep of `reweight`."""
    color = {"done": "green", "stopped": "yellow", "failed": "red"}[result.state]
    said, sep, command = result.message.partition(": hotlap ")
    if sep:  # the command to go on with, on a line of its own: never broken by the terminal's width
        console.print(f"[{color}]sweep {result.state}[/]: {escape(said)}:")
        console.print(f"  hotlap {escape(command)}", highlight=False, soft_wrap=True)
    else:
        console.print(f"[{color}]sweep {result.state}[/]: {escape(result.message)}")
    _print_status(store, result.sweep, result.analysis)  # the engine's analysis: not made again
    if result.state == "failed":
        raise typer.Exit(1)
    from hotlap.api import reweighted_after

    derived = reweighted_after(store, result)
    if derived is not None:
        console.print(
            f"trained networks re-evaluated offline at the reweight values: derived sweep {derived.id}"
        )
        _drive_derived(store, derived, data_dir, warmup)


def _derive(
    store: Any,
    key: str,
    reweight: str | None,
    vary: list[str],
    name: str | None,
    device: str,
    objective: list[str] | None = None,
) -> Any:
    """The derived sweep of `key` (created, or reopened to finish), from the command line's
    `--reweight` and `--vary FIELD=VALUES`; `objective`: `objective.*` overrides of the source's
    objective (a target the study asks)."""
    from hotlap.offline import derive_reweighted, parse_values

    fields: dict[str, list[float]] = {}
    for item in vary:
        field, sep, text = item.partition("=")
        if not sep or not field.strip():
            raise HotlapError(f"--vary {item!r}: expected FIELD=VALUES")
        fields[field.strip()] = parse_values(text, f"--vary {field.strip()}")
    weights = None if reweight is None else parse_values(reweight, "--reweight")
    return derive_reweighted(store, key, weights, fields, name=name, device=device, objective=objective)


def _drive_derived(store: Any, derived: Any, data_dir: Path | None, warmup: bool) -> None:
    from hotlap.spec.validate import stored_spec

    executor = _executor(stored_spec(derived.spec), data_dir, warmup)
    _drive(store, derived, executor, False, data_dir)
    console.print(f"full report: hotlap report {derived.id}")


def _print_status(store: Any, sweep: Any, analysis: Any = None) -> None:
    from hotlap.api import status_of
    from hotlap.memory import keep_until_exit
    from hotlap.spec.validate import stored_spec

    spec = stored_spec(sweep.spec)
    status = status_of(store, sweep, analysis)
    keep_until_exit("status", status)  # (its analysis of every config: left to the process's end)
    table = Table(title=f"sweep {sweep.id}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("state", escape(status.state + (f": {sweep.message}" if sweep.message else "")))
    table.add_row("recipe / dataset", f"{sweep.recipe} on {sweep.dataset}, strategy {spec.strategy.name}")
    table.add_row("runs", ", ".join(f"{n:,} {state}" for state, n in status.counts.items()))
    seeds = f"{spec.racing.min}-{len(spec.seeds)} (racing)" if spec.racing else str(len(spec.seeds))
    planned = status.planned
    of = f"{status.configs:,} of {planned:,}" if planned and status.state != "done" else f"{status.configs:,}"
    if status.excluded:  # never run: they break a per-config bound
        of += f" ({status.excluded:,} excluded before running)"
    table.add_row("configs", f"{of}, seeds {seeds} each")
    analysis = status.analysis
    best = analysis.best
    if best is not None:
        metric = spec.metric(analysis.quality_metric if spec.target else spec.primary.metric)
        summary = best.metrics[metric.name]
        shown = f"{metric.name} {metric.format(summary.mean)}"
        if summary.std is not None:
            shown += f" ± {metric.format(summary.std)}"
        label = "recommended so far" if spec.target else "best so far"
        table.add_row(
            label,
            escape(f"{best.config_id} [{best.label()}]: {shown}, n={best.n} ({best.fidelity} fidelity)"),
        )
    if analysis.configs:
        table.add_row("decision", escape(analysis.recommendation.sentence))
    if analysis.mixes_devices:
        table.add_row(
            "warning",
            "times mix devices: " + ", ".join(f"{d} ({n} runs)" for d, n in analysis.devices.items()),
        )
    table.add_row("directory", str(sweep.directory))
    console.print(table)
