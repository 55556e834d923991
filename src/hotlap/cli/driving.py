"""Driving a sweep from the command line: its executor, the engine with the progress display and
callbacks, the derived sweep `tta_weights` and `hotlap eval` ask for, and the status panel."""

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
    from hotlap.executors import executor_options, get_executor

    options = dict(spec.executor.options)
    if not warmup and "warmup" in executor_options(spec.executor.name):
        options["warmup"] = False
    from hotlap.recipes import get_recipe

    executor = get_executor(spec.executor.name, **options)
    dataset = spec.dataset if get_recipe(spec.recipe).uses_data else None  # a script loads its own
    try:
        executor.prepare(dataset, str(data_dir) if data_dir else None, spec.device)
    except BaseException:
        executor.shutdown()
        raise
    return executor


def _drive(
    store: Any,
    sweep: Any,
    executor: Any,
    retry_failed: bool,
    data_dir: Path | None,
    allow_device_change: bool = False,
    warmup: bool = True,
) -> None:
    from hotlap.callbacks import get_callback
    from hotlap.callbacks.progress import RichProgress
    from hotlap.engine.driver import Engine

    names = [n for n in sweep.spec.get("callbacks") or [] if n != "progress"]
    callbacks = [("progress", RichProgress()), *((name, get_callback(name)) for name in names)]
    engine = Engine(
        store,
        sweep,
        executor,
        callbacks=callbacks,
        retry_failed=retry_failed,
        data_dir=str(data_dir) if data_dir else None,
        allow_device_change=allow_device_change,
    )
    try:
        result = engine.run()
    except KeyboardInterrupt:
        raise interrupted(
            f"[yellow]interrupted[/]: finished runs are stored; resume with: hotlap resume {sweep.id}"
        ) from None
    try:
        _after(store, engine, result, data_dir, warmup)
    except KeyboardInterrupt:  # the sweep itself is complete and stored: only the summary is cut
        raise interrupted(
            f"[yellow]interrupted[/] while printing the summary; the sweep is stored: "
            f"hotlap report {sweep.id}"
        ) from None


def _after(store: Any, engine: Any, result: Any, data_dir: Path | None, warmup: bool) -> None:
    """What `sweep` and `resume` print once the engine is done, and the derived TTA sweep."""
    color = {"done": "green", "stopped": "yellow", "failed": "red"}[result.state]
    console.print(f"[{color}]sweep {result.state}[/]: {escape(result.message)}")
    _print_status(store, result.sweep)
    if result.state == "failed":
        raise typer.Exit(1)
    if result.state == "done" and engine.spec.tta_weights is not None and engine.spec.derived_from is None:
        values = ",".join(f"{v:g}" for v in engine.spec.tta_weight_values())
        derived = _derive(store, result.sweep.id, values, [], None, engine.spec.device)
        console.print(f"TTA weightings re-evaluated offline: derived sweep {derived.id}")
        _drive_derived(store, derived, data_dir, warmup)


def _derive(
    store: Any, key: str, tta_weight: str | None, vary: list[str], name: str | None, device: str
) -> Any:
    """The derived sweep of `key` (created, or reopened to finish): --tta-weight re-weights the
    airbench family's TTA views (level 2 configs, the reference weighting as the baseline)."""
    from hotlap.offline import derive_sweep, parse_values

    fields: dict[str, list[float]] = {}
    reference, where = None, None
    for item in vary:
        field, sep, text = item.partition("=")
        if not sep or not field.strip():
            raise HotlapError(f"--vary {item!r}: expected FIELD=VALUES")
        fields[field.strip()] = parse_values(text, f"--vary {field.strip()}")
    if tta_weight is not None:
        from hotlap.recipes.tta import REFERENCE_WEIGHT, WEIGHT_FIELD, check_weights, reweightable

        fields[WEIGHT_FIELD] = check_weights(parse_values(tta_weight, "--tta-weight"))
        reference, where = {WEIGHT_FIELD: REFERENCE_WEIGHT}, reweightable
        from hotlap.spec.fields import TTA_SUFFIX

        name = name or f"{store.require(key).name}{TTA_SUFFIX}"
    return derive_sweep(store, key, fields, reference=reference, where=where, name=name, device=device)


def _drive_derived(store: Any, derived: Any, data_dir: Path | None, warmup: bool) -> None:
    from hotlap.spec.validate import stored_spec

    executor = _executor(stored_spec(derived.spec), data_dir, warmup)
    _drive(store, derived, executor, False, data_dir)
    console.print(f"full report: hotlap report {derived.id}")


def _print_status(store: Any, sweep: Any) -> None:
    from hotlap.analysis.configs import analyze
    from hotlap.analysis.judging import planned_configs
    from hotlap.engine.session import is_locked
    from hotlap.spec.validate import stored_spec

    spec = stored_spec(sweep.spec)
    counts = store.counts(sweep.id)
    state = sweep.state
    if state == "running" and not is_locked(sweep.directory):
        state = "interrupted (no process is running it)"
    table = Table(title=f"sweep {sweep.id}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("state", escape(state + (f": {sweep.message}" if sweep.message else "")))
    table.add_row("recipe / dataset", f"{sweep.recipe} on {sweep.dataset}, strategy {spec.strategy.name}")
    table.add_row("runs", ", ".join(f"{n} {status}" for status, n in counts.items()))
    configs = store.configs(sweep.id)
    seeds = f"{spec.racing.min}-{len(spec.seeds)} (racing)" if spec.racing else str(len(spec.seeds))
    planned = planned_configs(spec)
    of = f"{len(configs)} of {planned}" if planned and state != "done" else str(len(configs))
    excluded = store.excluded(sweep.id)
    if excluded:  # never run: they break a per-config bound
        of += f" ({len(excluded)} excluded before running)"
    table.add_row("configs", f"{of}, seeds {seeds} each")
    analysis = analyze(
        spec,
        configs,
        store.runs(sweep.id, details=False),
        comparisons=False,
        devices=store.run_devices(sweep.id),
    )
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
