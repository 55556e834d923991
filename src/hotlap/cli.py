"""The `hotlap` command line: parses, calls the library, prints. User errors exit 2 in one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
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


def summary_table(summary: dict[str, Any], title: str) -> Table:
    """Metrics as rows: mean ± sample std, min and max over the finished seeds."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    for name, unit, pct in (
        ("accuracy", "%", True),
        ("tta_accuracy", "%", True),
        ("train_time", "s", False),
        ("eval_time", "s", False),
        ("total_time", "s", False),
    ):
        stats = summary[name]
        mean = _number(stats["mean"], pct)
        if stats["std"] is not None:
            mean += f" ± {_number(stats['std'], pct)}"
        table.add_row(
            f"{name} ({unit})", mean, _number(stats["min"], pct), _number(stats["max"], pct)
        )
    target = summary["target"]
    if target["success_rate"] is not None:
        table.caption = (
            f"n = {summary['n']}; {target['metric']} ≥ {100 * target['at_least']:.2f}% in "
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
        typer.Option("--out", help="run directory [HOTLAP_HOME/runs/<recipe>-<data>-<time>]"),
    ] = None,
    data_dir: DataDirOpt = None,
    warmup: Annotated[
        bool, typer.Option("--warmup/--no-warmup", help="one untimed warmup run first")
    ] = True,
) -> None:
    """Train RECIPE over N seeds, timed, and write a run directory."""
    from hotlap.progress import RichReporter
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
    )
    try:
        summary = execute(plan, RichReporter())
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]; finished seeds are in {plan.out_dir}")
        raise typer.Exit(130) from None
    title = f"{plan.recipe.name} on {plan.dataset}, {plan.device}, seeds {plan.seeds[0]}..{plan.seeds[-1]}"
    console.print(summary_table(summary, title))
    console.print(f"run directory: {plan.out_dir}")
    if summary["failed"]:
        failed = summary["failed"]
        console.print(f"[red]{failed} seed(s) failed[/]: see {plan.out_dir / 'runs.jsonl'}")
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
        table.add_row(name, shown, field.description or "")
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
        app()
    except HotlapError as exc:
        message = " ".join(str(exc).split())
        print(f"hotlap: error: {message}", file=sys.stderr)
        sys.exit(exc.exit_code)
