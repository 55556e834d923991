"""`hotlap run`, and what hotlap knows: `recipes`, `datasets`, `show`, `download`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hotlap.cli.app import DataDirOpt, DataOpt, Overrides, app, console, interrupted
from hotlap.cli.examples import epilog


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
    if target is not None and target["success_rate"] is not None:
        judged = next(m for m in metrics if m.name == target["metric"])
        relation = "≥" if judged.direction == "maximize" else "≤"
        table.caption = (
            f"n = {summary['n']}; {target['metric']} {relation} {judged.format(target['threshold'])} in "
            f"{target['successes']} of {summary['n']} runs ({100 * target['success_rate']:.0f}%)"
        )
        table.caption_justify = "left"
    return table


@app.command(epilog=epilog("run"))
def run(
    recipe: Annotated[str, typer.Argument(help="recipe name (hotlap recipes)")],
    overrides: Overrides = None,
    data: DataOpt = "cifar10",
    seeds: Annotated[int, typer.Option("--seeds", help="number of seeds")] = 1,
    seed_offset: Annotated[int, typer.Option("--seed-offset", help="first seed")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N]")] = "auto",
    target: Annotated[
        float | None,
        typer.Option(
            "--target", help="accuracy target for the success rate [the recipe's own: airbench94 0.94]"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="run directory [HOTLAP_HOME/sweeps/run-<recipe>-<data>-<time>]"),
    ] = None,
    data_dir: DataDirOpt = None,
    warmup: Annotated[
        bool, typer.Option("--warmup/--no-warmup", help="an untimed one-epoch run first, on a GPU")
    ] = True,
    executor: Annotated[str, typer.Option("--executor", help="executor by name")] = "inprocess",
    callback: Annotated[
        list[str] | None, typer.Option("--callback", help="a callback by name (repeatable)")
    ] = None,
    log_every: Annotated[
        int,
        typer.Option(
            "--log-every", help="test accuracy logged after every Nth epoch, untimed [0: the last only]"
        ),
    ] = 0,
) -> None:
    """Train RECIPE over N seeds, timed; record them in the store and write a run directory."""
    from hotlap.callbacks.progress import RichProgress
    from hotlap.runner import execute, plan_run

    plan = plan_run(
        recipe,
        overrides or [],
        data=data,
        seeds=seeds,
        seed_offset=seed_offset,
        device=device,
        target=target,
        out=out,
        data_dir=data_dir,
        warmup=warmup,
        executor=executor,
        callbacks=callback or [],
        log_every=log_every,
    )
    reporter = RichProgress(label=f"{plan.recipe.name} on {plan.dataset}")
    try:
        summary = execute(plan, reporter)
    except KeyboardInterrupt:
        raise interrupted(
            f"[yellow]interrupted[/]: the finished seeds are in {escape(str(reporter.directory))}"
        ) from None
    title = f"{plan.recipe.name} on {plan.dataset}, {plan.device}, seeds {plan.seeds[0]}..{plan.seeds[-1]}"
    console.print(summary_table(summary, title, plan.recipe.metrics))
    console.print(f"run directory: {escape(str(summary['directory']))}")
    if summary["failed"]:
        failed = summary["failed"]
        console.print(
            f"[red]{failed} seed(s) failed[/]: see {escape(str(Path(summary['directory']) / 'runs.jsonl'))}"
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
        table.add_row(escape(entry.name), escape(entry.summary))
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


def _yaml_scalar(value: Any) -> str:
    """A value as YAML writes it on one line (what `KEY=VALUE` parses back to the same value)."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


@app.command(epilog=epilog("show"))
def show(
    recipe: Annotated[str, typer.Argument(help="recipe name (hotlap recipes)")],
    overrides: Overrides = None,
    data: DataOpt = "cifar10",
) -> None:
    """Print RECIPE's resolved config and derived facts (steps, parameters, FLOPs)."""
    from hotlap.config import parse_overrides
    from hotlap.costs import static_costs
    from hotlap.data import dataset_sizes
    from hotlap.recipes import get_recipe, steps_per_epoch

    entry = get_recipe(recipe)
    if entry.build_model is None:  # a script: its config is a spec's script block and its own keys
        console.print(_settings_table(entry))
        return
    config = entry.config(parse_overrides(overrides or []))
    train_size, test_size, num_classes = dataset_sizes(data)
    table = Table(title=f"{entry.name} config", title_justify="left")
    table.add_column("key")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    defaults = entry.config_cls()
    for name, field in entry.config_cls.model_fields.items():
        value = getattr(config, name)
        shown = escape(_yaml_scalar(value))  # as an override takes it back: null, true, 0.5, cyclic
        if value != getattr(defaults, name):
            shown = f"[bold]{shown}[/]"
        shared = (
            " (evaluation only: configs differing in it share training)" if name in entry.eval_fields else ""
        )
        table.add_row(name, shown, escape((field.description or "") + shared))
    console.print(table)

    steps = entry.total_steps(config, train_size)
    costs = static_costs(entry, config, num_classes, train_size, test_size)
    batch = getattr(config, "batch_size", None)
    facts = Table(
        title=f"derived facts on {data} ({train_size:,} train / {test_size:,} test)",
        title_justify="left",
    )
    facts.add_column("fact")
    facts.add_column("value", justify="right")
    if batch:
        held_out = getattr(config, "val_size", 0)  # resnet's validation split trains on the rest
        facts.add_row("steps per epoch", f"{steps_per_epoch(train_size - held_out, batch):,}")
    facts.add_row("optimizer steps", f"{steps:,}")
    facts.add_row("parameters (frozen included)", f"{int(costs['parameters']):,}")
    facts.add_row("forward pass of one image", _flops(costs["forward_flops"]))
    if "run_flops" in costs:
        how = "as the recipe counts it" if entry.run_flops is not None else "training at 3x forward"
        views = config.eval_views()
        seen = f"{views} evaluation views" if views > 1 else "the evaluation"
        facts.add_row(f"one run ({how}, {seen})", _flops(costs["run_flops"]))
    if entry.published is not None:
        facts.caption = f"published for the reference: {entry.published}"
        facts.caption_justify = "left"
    console.print(facts)


def _settings_table(entry: Any) -> Table:
    """The keys of a recipe without a network (a script), nested blocks spelled out."""
    from pydantic import BaseModel

    table = Table(title=f"{entry.name} config (from a sweep spec)", title_justify="left")
    table.add_column("key")
    table.add_column("default", justify="right")
    table.add_column("meaning")
    for name, field in entry.config_cls.model_fields.items():
        nested = field.annotation if isinstance(field.annotation, type) else None
        if nested is not None and issubclass(nested, BaseModel):
            for sub, subfield in nested.model_fields.items():
                default = (
                    "required"
                    if subfield.is_required()
                    else _yaml_scalar(subfield.get_default(call_default_factory=True))
                )
                table.add_row(f"{name}.{sub}", escape(default), escape(subfield.description or ""))
        else:
            table.add_row(
                name,
                "required" if field.is_required() else escape(_yaml_scalar(field.default)),
                escape(field.description or ""),
            )
    if entry.free_keys:
        table.add_row("any other key", "-", "your program's own setting: a {key} placeholder of the command")
    return table


@app.command(epilog=epilog("download"))
def download(
    dataset: Annotated[str, typer.Argument(help="cifar10 or cifar100")],
    data_dir: DataDirOpt = None,
) -> None:
    """Download, verify and cache a dataset ahead of time."""
    from hotlap.data import load_dataset

    loaded = load_dataset(dataset, data_dir)
    console.print(f"{loaded.name}: {loaded.train_size:,} train / {loaded.test_size:,} test images ready")
