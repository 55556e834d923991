"""The `hotlap` command line: parses, calls the library, prints. User errors exit 2 in one line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hotlap.errors import HotlapError

app = typer.Typer(
    name="hotlap",
    help="Find the fastest training configuration that reliably reaches a target accuracy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()

Overrides = Annotated[
    list[str] | None, typer.Argument(help="config overrides KEY=VALUE", show_default=False)
]
DataOpt = Annotated[
    str, typer.Option("--data", help="dataset: cifar10, cifar100, digits, synthetic[:N]")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="dataset cache [env HOTLAP_DATA; ~/.cache/hotlap/data]"),
]


def _number(value: float | None, pct: bool) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}" if pct else f"{value:.3f}"


def _flops(value: float) -> str:
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}FLOPs"
    return f"{value:.0f} FLOPs"


def summary_table(summary: dict[str, Any], title: str, metrics: Any) -> Table:
    """Metrics as rows: mean ± sample std, min and max over the finished seeds."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    for metric in metrics:
        stats = summary[metric.name]

        def shown(value: float | None, metric: Any = metric) -> str:
            return metric.format(value, unit=False)

        mean = shown(stats["mean"])
        if stats["std"] is not None:
            mean += f" ± {shown(stats['std'])}"
        unit = f" ({metric.shown_unit})" if metric.shown_unit else ""
        table.add_row(f"{metric.name}{unit}", mean, shown(stats["min"]), shown(stats["max"]))
    target = summary["target"]
    if target["success_rate"] is not None:
        judged = next(m for m in metrics if m.name == target["metric"])
        relation = "≥" if judged.direction == "maximize" else "≤"
        table.caption = (
            f"n = {summary['n']}; {target['metric']} {relation} {judged.format(target['threshold'])} in "
            f"{target['successes']} of {summary['n']} runs ({100 * target['success_rate']:.0f}%)"
        )
        table.caption_justify = "left"
    return table


@app.command()
def run(
    recipe: Annotated[str, typer.Argument(help="recipe name (hotlap recipes)")],
    overrides: Overrides = None,
    data: DataOpt = "cifar10",
    seeds: Annotated[int, typer.Option("--seeds", help="number of seeds")] = 1,
    seed_offset: Annotated[int, typer.Option("--seed-offset", help="first seed")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N]")] = "auto",
    target: Annotated[
        float, typer.Option("--target", help="accuracy target for the success rate")
    ] = 0.94,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="run directory [HOTLAP_HOME/sweeps/run-<recipe>-<data>-<time>]"),
    ] = None,
    data_dir: DataDirOpt = None,
    warmup: Annotated[
        bool, typer.Option("--warmup/--no-warmup", help="one untimed warmup run first")
    ] = True,
    executor: Annotated[str, typer.Option("--executor", help="executor by name")] = "inprocess",
    callback: Annotated[
        list[str] | None, typer.Option("--callback", help="a callback by name (repeatable)")
    ] = None,
) -> None:
    """Train RECIPE over N seeds, timed; record them in the store and write a run directory."""
    from hotlap.callbacks.progress import RichProgress
    from hotlap.runner import execute, plan_run

    plan = plan_run(
        recipe, overrides or [], data=data, seeds=seeds, seed_offset=seed_offset, device=device,
        target=target, out=out, data_dir=data_dir, warmup=warmup, executor=executor, callbacks=callback or [],
    )  # fmt: skip
    reporter = RichProgress(label=f"{plan.recipe.name} on {plan.dataset}")
    try:
        summary = execute(plan, reporter)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: the finished seeds are in {reporter.directory}")
        raise typer.Exit(130) from None
    title = f"{plan.recipe.name} on {plan.dataset}, {plan.device}, seeds {plan.seeds[0]}..{plan.seeds[-1]}"
    console.print(summary_table(summary, title, plan.recipe.metrics))
    console.print(f"run directory: {summary['directory']}")
    if summary["failed"]:
        failed = summary["failed"]
        console.print(
            f"[red]{failed} seed(s) failed[/]: see {Path(summary['directory']) / 'runs.jsonl'}"
        )
        raise typer.Exit(1)


@app.command()
def recipes() -> None:
    """List the recipes."""
    from hotlap.recipes import list_recipes

    table = Table(show_header=True)
    table.add_column("recipe")
    table.add_column("what it is")
    for entry in list_recipes():
        table.add_row(entry.name, entry.summary)
    console.print(table)


@app.command()
def datasets() -> None:
    """List the datasets."""
    from hotlap.data import list_datasets

    table = Table(show_header=True)
    for name in ("dataset", "train", "test", "classes", "what it is"):
        table.add_column(name)
    for spec in list_datasets():
        table.add_row(
            spec.name,
            f"{spec.train_size:,}",
            f"{spec.test_size:,}",
            str(spec.num_classes),
            spec.summary,
        )
    console.print(table)


@app.command()
def show(
    recipe: Annotated[str, typer.Argument(help="recipe name (hotlap recipes)")],
    overrides: Overrides = None,
    data: DataOpt = "cifar10",
) -> None:
    """Print RECIPE's resolved config and derived facts (steps, parameters, FLOPs)."""
    from hotlap.config import parse_overrides
    from hotlap.data import dataset_sizes
    from hotlap.recipes import count_parameters, forward_flops, get_recipe, steps_per_epoch

    entry = get_recipe(recipe)
    config = entry.config(parse_overrides(overrides or []))
    train_size, test_size, num_classes = dataset_sizes(data)
    table = Table(title=f"{entry.name} config", title_justify="left")
    table.add_column("key")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    defaults = entry.config_cls()
    for name, field in entry.config_cls.model_fields.items():
        value = getattr(config, name)
        shown = f"[bold]{value!r}[/]" if value != getattr(defaults, name) else repr(value)
        shared = (
            " (evaluation only: configs differing in it share training)"
            if name in entry.eval_fields
            else ""
        )
        table.add_row(name, shown, (field.description or "") + shared)
    console.print(table)

    model = entry.build_model(config, num_classes)
    steps = entry.total_steps(config, train_size)
    flops = forward_flops(model)
    batch = getattr(config, "batch_size", None)
    facts = Table(
        title=f"derived facts on {data} ({train_size:,} train / {test_size:,} test)",
        title_justify="left",
    )
    facts.add_column("fact")
    facts.add_column("value", justify="right")
    if batch:
        facts.add_row("steps per epoch", f"{steps_per_epoch(train_size, batch):,}")
    facts.add_row("optimizer steps", f"{steps:,}")
    facts.add_row("parameters (frozen included)", f"{count_parameters(model):,}")
    facts.add_row("forward pass of one image", _flops(flops))
    if batch:
        views = {0: 1, 1: 2, 2: 6}.get(getattr(config, "tta_level", 0), 1)
        run_flops = flops * (3 * steps * batch + views * test_size)
        facts.add_row("one run (training at 3x forward, TTA evaluation)", _flops(run_flops))
    console.print(facts)


@app.command()
def download(
    dataset: Annotated[str, typer.Argument(help="cifar10 or cifar100")],
    data_dir: DataDirOpt = None,
) -> None:
    """Download, verify and cache a dataset ahead of time."""
    from hotlap.data import load_dataset

    loaded = load_dataset(dataset, data_dir)
    console.print(
        f"{loaded.name}: {loaded.train_size:,} train / {loaded.test_size:,} test images ready"
    )


WorkdirOpt = Annotated[
    Path | None,
    typer.Option("--workdir", help="store and artifacts [env HOTLAP_HOME; ./hotlap-runs]"),
]
SpecOverrides = Annotated[
    list[str] | None,
    typer.Argument(help="spec overrides FIELD=VALUE (dotted: base.width=0.25)", show_default=False),
]
RetryOpt = Annotated[bool, typer.Option("--retry-failed", help="run failed runs again")]
WarmupOpt = Annotated[
    bool, typer.Option("--warmup/--no-warmup", help="one untimed warmup run per process first")
]


ExecutorOpt = Annotated[
    str | None,
    typer.Option("--executor", help="executor by name [the spec's executor, else inprocess]"),
]
CallbackOpt = Annotated[
    list[str] | None,
    typer.Option("--callback", help="a callback by name: wandb, mlflow, ... (repeatable)"),
]
DeviceChangeOpt = Annotated[
    bool,
    typer.Option(
        "--allow-device-change", help="resume on another device model (the report says times mix)"
    ),
]


def _cli_overrides(
    executor: str | None, callbacks: list[str] | None, spec_callbacks: list[str]
) -> list[str]:
    """--executor and --callback as spec overrides (stored with the sweep)."""
    items = [f"executor={executor}"] if executor else []
    if callbacks:
        merged = list(dict.fromkeys([*spec_callbacks, *callbacks]))
        items.append(f"callbacks=[{', '.join(merged)}]")
    return items


def _executor(spec: Any, data_dir: Path | None, warmup: bool = True) -> Any:
    """The spec's executor, with the data loaded and the device checked: before any write."""
    from hotlap.executors import executor_options, get_executor

    options = dict(spec.executor.options)
    if not warmup and "warmup" in executor_options(spec.executor.name):
        options["warmup"] = False
    executor = get_executor(spec.executor.name, **options)
    try:
        executor.prepare(spec.dataset, str(data_dir) if data_dir else None, spec.device)
    except BaseException:
        executor.shutdown()
        raise
    return executor


def _drive(
    store: Any, sweep: Any, executor: Any, retry_failed: bool, data_dir: Path | None, allow_device_change: bool = False,
    warmup: bool = True,
) -> None:  # fmt: skip
    from hotlap.callbacks import get_callback
    from hotlap.callbacks.progress import RichProgress
    from hotlap.sweep.engine import Engine

    names = [n for n in sweep.spec.get("callbacks") or [] if n != "progress"]
    callbacks = [("progress", RichProgress()), *((name, get_callback(name)) for name in names)]
    engine = Engine(
        store, sweep, executor, callbacks=callbacks, retry_failed=retry_failed,
        data_dir=str(data_dir) if data_dir else None, allow_device_change=allow_device_change,
    )  # fmt: skip
    try:
        result = engine.run()
    except KeyboardInterrupt:
        console.print(
            f"[yellow]interrupted[/]: finished runs are stored; resume with: hotlap resume {sweep.id}"
        )
        raise typer.Exit(130) from None
    color = {"done": "green", "stopped": "yellow", "failed": "red"}[result.state]
    console.print(f"[{color}]sweep {result.state}[/]: {result.message}")
    _print_status(store, result.sweep)
    if result.state == "failed":
        raise typer.Exit(1)
    if (
        result.state == "done"
        and engine.spec.tta_weights is not None
        and engine.spec.derived_from is None
    ):
        values = ",".join(f"{v:g}" for v in engine.spec.tta_weight_values())
        derived = _derive(store, result.sweep.id, values, [], None, engine.spec.device)
        console.print(f"TTA weightings re-evaluated offline: derived sweep {derived.id}")
        _drive_derived(store, derived, data_dir, warmup)


def _print_status(store: Any, sweep: Any) -> None:
    from hotlap.sweep.analysis import analyze
    from hotlap.sweep.session import is_locked
    from hotlap.sweep.validate import stored_spec

    spec = stored_spec(sweep.spec)
    counts = store.counts(sweep.id)
    state = sweep.state
    if state == "running" and not is_locked(sweep.directory):
        state = "interrupted (no process is running it)"
    table = Table(title=f"sweep {sweep.id}", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("state", escape(state + (f": {sweep.message}" if sweep.message else "")))
    table.add_row(
        "recipe / dataset", f"{sweep.recipe} on {sweep.dataset}, strategy {spec.strategy.name}"
    )
    table.add_row("runs", ", ".join(f"{n} {status}" for status, n in counts.items()))
    configs = store.configs(sweep.id)
    seeds = f"{spec.racing.min}-{len(spec.seeds)} (racing)" if spec.racing else str(len(spec.seeds))
    table.add_row("configs", f"{len(configs)}, seeds {seeds} each")
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
            escape(
                f"{best.config_id} [{best.label()}]: {shown}, n={best.n} ({best.fidelity} fidelity)"
            ),
        )
    if analysis.configs:
        table.add_row("decision", escape(analysis.recommendation.sentence))
    if analysis.mixes_devices:
        table.add_row(
            "warning",
            "times mix devices: "
            + ", ".join(f"{d} ({n} runs)" for d, n in analysis.devices.items()),
        )
    table.add_row("directory", str(sweep.directory))
    console.print(table)


@app.command()
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
) -> None:
    """Run a sweep to its end; the same command continues it after a crash or Ctrl-C."""
    from hotlap.store import open_store
    from hotlap.sweep.session import open_sweep
    from hotlap.sweep.validate import load_spec

    spec = load_spec(spec_path, overrides or [])
    extra = _cli_overrides(executor, callback, spec.callbacks)
    if extra:
        spec = load_spec(spec_path, [*(overrides or []), *extra])
    runner = _executor(spec, data_dir, warmup)
    try:
        with open_store(workdir) as store:
            record, created = open_sweep(store, spec)
            console.print(f"{'starting' if created else 'continuing'} sweep {record.id}")
            _drive(store, record, runner, retry_failed, data_dir, allow_device_change, warmup)
    finally:
        runner.shutdown()


@app.command()
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
    from hotlap.store import open_store
    from hotlap.sweep.session import open_sweep
    from hotlap.sweep.spec import SpecError, apply_overrides
    from hotlap.sweep.validate import parse_spec

    with open_store(workdir, create=False) as store:
        record = store.require(sweep_id)
        extra = _cli_overrides(executor, callback, record.spec.get("callbacks") or [])
        try:
            spec = parse_spec(apply_overrides(record.spec, [*(overrides or []), *extra]))
        except SpecError as exc:
            raise SpecError(f"sweep {record.id}: {exc}") from None
        if spec.name != record.name:
            raise SpecError("resume cannot rename a sweep")
        runner = _executor(spec, data_dir, warmup)
        try:
            record, _ = open_sweep(store, spec)
            console.print(f"continuing sweep {record.id}")
            _drive(store, record, runner, retry_failed, data_dir, allow_device_change, warmup)
        finally:
            runner.shutdown()


@app.command()
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


def _check_out(path: Path | None, *, folder: bool = False) -> None:
    """An --out the command can write to, or a one-line error before any work is done."""
    if path is None:
        return
    if folder:
        existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
        if not existing.is_dir() or (existing != path and not os.access(existing, os.W_OK)):
            raise HotlapError(f"--out {path}: cannot create a folder there")
        if existing == path and not os.access(path, os.W_OK):
            raise HotlapError(f"--out {path}: the folder is not writable")
        return
    if path.is_dir():
        raise HotlapError(f"--out {path} is a folder; give a file name")
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise HotlapError(f"--out {path}: {path.parent} is not a writable folder")


@app.command("ls")
def list_sweeps(workdir: WorkdirOpt = None) -> None:
    """The sweeps in the store with their state."""
    from hotlap.store import open_store
    from hotlap.sweep.session import is_locked

    table = Table()
    for column in ("sweep", "recipe", "dataset", "state", "done", "failed", "queued", "updated"):
        table.add_column(column)
    with open_store(workdir, create=False) as store:
        sweeps = [(record, store.counts(record.id)) for record in store.sweeps()]
    for record, counts in sweeps:
        state = record.state
        if state == "running" and not is_locked(record.directory):
            state = "interrupted"
        table.add_row(
            record.id, record.recipe, record.dataset, state, str(counts["done"]), str(counts["failed"]),
            str(counts["queued"] + counts["running"]), record.updated[:19].replace("T", " "),
        )  # fmt: skip
    console.print(table)


@app.command()
def export(
    sweep_id: Annotated[str, typer.Argument(metavar="ID", help="sweep id or name")],
    format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="file to write [stdout]")] = None,
    workdir: WorkdirOpt = None,
) -> None:
    """One row per run: sweep, config id, swept keys, seed, fidelity, status, metrics."""
    from hotlap.io import atomic_write_text
    from hotlap.store import open_store

    if format not in ("csv", "json"):
        raise HotlapError(f"--format {format!r}: expected csv or json")
    _check_out(out)
    with open_store(workdir, create=False) as store:
        frame = store.to_pandas(sweep_id)
    text = (
        frame.to_csv(index=False)
        if format == "csv"
        else frame.to_json(orient="records", indent=2) + "\n"
    )
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        console.print(f"{len(frame)} runs written to {out}", highlight=False)


@app.command()
def report(
    sweep_id: Annotated[str, typer.Argument(metavar="ID", help="sweep id or name")],
    format: Annotated[
        str,
        typer.Option("--format", help="table, or a registered format: csv, json, md, html, ..."),
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="file for csv/json/md/html [stdout]; folder for table [<sweep>/report]"
        ),
    ] = None,
    workdir: WorkdirOpt = None,
) -> None:
    """Decisions per config, the recommendation with its confidence, plots and an HTML page."""
    from hotlap.io import atomic_write_text
    from hotlap.report import get_format, load_report, render_format, render_table, write_report
    from hotlap.store import open_store

    if format != "table":
        get_format(format)  # an unknown format is a one-line error before any work
    _check_out(out, folder=format == "table")
    with open_store(workdir, create=False) as store:
        loaded = load_report(store, sweep_id)
    analysis, sweep = loaded.analysis, loaded.sweep
    if format == "table":
        console.print(render_table(analysis, sweep, width=console.width))
        files = write_report(loaded, out or sweep.directory / "report")
        console.print(f"report files: {files['html'].parent} (report.html, report.csv, "
                      f"{', '.join(p.name for k, p in files.items() if p.suffix == '.png')})")  # fmt: skip
        return
    text = render_format(loaded, format)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        console.print(f"report written to {out}", highlight=False)


@app.command("compare")
def compare_command(
    a: Annotated[str, typer.Argument(metavar="A", help="sweep, config id, or SWEEP/CONFIG")],
    b: Annotated[str, typer.Argument(metavar="B", help="the same, to compare A against")],
    confidence: Annotated[float, typer.Option("--confidence", help="for the intervals")] = 0.95,
    workdir: WorkdirOpt = None,
) -> None:
    """A against B: difference of means with its CI, paired t / Wilcoxon or Welch, effect size."""
    from hotlap.report.compare import compare_sides, resolve_side
    from hotlap.store import open_store

    if not 0.5 <= confidence < 1:
        raise HotlapError(f"--confidence {confidence}: expected a level in [0.5, 1)")
    with open_store(workdir, create=False) as store:
        side_a, side_b = resolve_side(store, a), resolve_side(store, b)
    rows = compare_sides(side_a, side_b, confidence)
    table = Table(title=f"A = {side_a.label}  vs  B = {side_b.label}", title_justify="left")
    for header in (
        "metric",
        "A mean (n)",
        "B mean (n)",
        "A - B",
        f"{confidence:.0%} CI",
        "test",
        "p",
        "Wilcoxon p",
        "effect size",
    ):
        table.add_column(header, justify="left" if header in ("metric", "test") else "right")
    for row in rows:
        c = row.comparison
        metric = row.metric

        def fmt(v: float | None, metric: Any = metric) -> str:
            return metric.format(v, digits=3 if metric.percent else None)

        ci = f"{fmt(c.ci_low)} .. {fmt(c.ci_high)}" if c.ci_low is not None else "-"
        p = "-" if c.p_value is None else f"{c.p_value:.3g}"
        w = "-" if c.p_wilcoxon is None else f"{c.p_wilcoxon:.3g}"
        effect = "-" if c.effect_size is None else f"{c.effect_size:+.2f}"
        test = f"paired on {c.n_pairs} seeds" if c.test == "paired" else "Welch (no shared seeds)"
        table.add_row(metric.name, f"{fmt(row.a.mean)} ({row.a.n})", f"{fmt(row.b.mean)} ({row.b.n})", fmt(c.diff), ci,
                      test, p, w, effect)  # fmt: skip
    console.print(table)
    total = next(
        (r for r in rows if r.metric.kind == "time" and r.metric.name == "total_time"), None
    )
    total = total or next((r for r in rows if r.metric.kind == "time"), None)
    if total is not None and total.a.mean is not None and total.b.mean:
        saved = total.b.mean - total.a.mean
        console.print(f"A takes {abs(saved):.3f} s ({100 * abs(saved) / total.b.mean:.1f}%) "
                      f"{'less' if saved >= 0 else 'more'} {total.metric.name} than B per run.")  # fmt: skip


@app.command("eval")
def eval_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID] [KEY=VALUE ...]",
            help="a sweep to evaluate again, or config overrides with --weights",
        ),
    ] = None,
    tta_weight: Annotated[
        str | None,
        typer.Option("--tta-weight", help="untranslated-view weights: LOW:HIGH:STEP or a,b,c"),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary", help="an evaluation-only field's values: FIELD=LOW:HIGH:STEP or FIELD=a,b,c"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="name of the derived sweep [<sweep>-tta]")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help="a saved state_dict to evaluate")
    ] = None,
    recipe: Annotated[
        str | None, typer.Option("--recipe", help="with --weights: the recipe")
    ] = None,
    data: Annotated[str | None, typer.Option("--data", help="with --weights: the dataset")] = None,
    tta_level: Annotated[
        int | None, typer.Option("--tta-level", help="with --weights: 0, 1 or 2")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N]")] = "auto",
    data_dir: DataDirOpt = None,
    warmup: WarmupOpt = True,
    workdir: WorkdirOpt = None,
) -> None:
    """Evaluate without training: a sweep's trained networks under other values of evaluation-only
    fields (--tta-weight, --vary), as a derived sweep; or saved weights (--weights)."""
    args = args or []
    if weights is not None:
        _eval_saved(args, weights, recipe, data, tta_level, device, data_dir, warmup)
        return
    if (tta_weight is None and not vary) or len(args) != 1:
        raise HotlapError(
            "give a sweep and --tta-weight or --vary (hotlap eval ID --tta-weight 0.30:0.70:0.05), "
            "or --weights PATH --recipe NAME --data NAME"
        )
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        derived = _derive(store, args[0], tta_weight, vary or [], name, device)
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
        name = name or f"{store.require(key).name}-tta"
    return derive_sweep(
        store, key, fields, reference=reference, where=where, name=name, device=device
    )


def _drive_derived(store: Any, derived: Any, data_dir: Path | None, warmup: bool) -> None:
    from hotlap.sweep.validate import stored_spec

    executor = _executor(stored_spec(derived.spec), data_dir, warmup)
    _drive(store, derived, executor, False, data_dir)
    console.print(f"full report: hotlap report {derived.id}")


def _eval_saved(
    overrides: list[str], weights: Path, recipe: str | None, data: str | None, tta_level: int | None, device: str,
    data_dir: Path | None, warmup: bool,
) -> None:  # fmt: skip
    from hotlap.offline import evaluate_saved

    if recipe is None or data is None:
        raise HotlapError("--weights needs --recipe NAME and --data NAME")
    result = evaluate_saved(
        recipe, overrides, weights, data=data, device=device, tta_level=tta_level,
        data_dir=str(data_dir) if data_dir else None, warmup=warmup,
    )  # fmt: skip
    table = Table(title=f"{weights} ({recipe} on {data}, {result.precision})", title_justify="left")
    for column in ("accuracy %", "tta_accuracy %", "views", "eval_time s"):
        table.add_column(column, justify="right")
    logits = result.artifacts.get("logits.npy")
    views = logits.shape[0] if logits is not None else 1
    m = result.metrics
    table.add_row(
        f"{100 * m['accuracy']:.2f}",
        f"{100 * m['tta_accuracy']:.2f}",
        str(views),
        f"{m['eval_time']:.4f}",
    )
    console.print(table)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
) -> None:
    if version:
        from hotlap import __version__

        console.print(f"hotlap {__version__}")
        raise typer.Exit()


def main() -> None:
    """Entry point: run the app; a HotlapError becomes one line on stderr and exit code 2."""
    try:
        from hotlap import load_plugins

        load_plugins()
        app()
    except HotlapError as exc:
        message = " ".join(str(exc).split())
        print(f"hotlap: error: {message}", file=sys.stderr)
        sys.exit(exc.exit_code)
