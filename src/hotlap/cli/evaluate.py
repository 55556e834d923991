"""`hotlap eval`: evaluation without training (derived sweeps, saved weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hotlap.cli.app import DataDirOpt, WarmupOpt, WorkdirOpt, app, console
from hotlap.cli.driving import _derive, _drive_derived
from hotlap.cli.examples import epilog
from hotlap.errors import HotlapError

TRAINING = ("train_time", "total_time")  # saved weights are evaluated, not trained


@app.command("eval", epilog=epilog("eval"))
def eval_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID] [KEY=VALUE ...]",
            help="a sweep to evaluate again, or config overrides with --weights",
        ),
    ] = None,
    reweight: Annotated[
        str | None,
        typer.Option(
            "--reweight",
            "--tta-weight",
            help="values of the recipe's re-weighting field (airbench: the untranslated TTA views' weight): "
            "LOW:HIGH:STEP or a,b,c",
        ),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="an evaluation-only field's values: FIELD=LOW:HIGH:STEP or FIELD=a,b,c"),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="name of the derived sweep [<sweep> + the recipe's suffix, airbench: -tta]"
        ),
    ] = None,
    weights: Annotated[Path | None, typer.Option("--weights", help="a saved state_dict to evaluate")] = None,
    recipe: Annotated[str | None, typer.Option("--recipe", help="with --weights: the recipe")] = None,
    data: Annotated[str | None, typer.Option("--data", help="with --weights: the dataset")] = None,
    tta_level: Annotated[
        int | None, typer.Option("--tta-level", hidden=True, help="the override tta_level=N (its old option)")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N]")] = "auto",
    data_dir: DataDirOpt = None,
    warmup: WarmupOpt = True,
    workdir: WorkdirOpt = None,
) -> None:
    """Evaluate without training: a sweep's networks at other evaluation-only values, or saved weights.

    --reweight and --vary make a derived sweep, evaluated on the sweep's trained networks (paired
    by seed), judged by the sweep's objective or the objective.* overrides given after ID;
    --weights evaluates a saved state_dict with the config overrides given (tta_level=1)."""
    args = args or []
    if weights is not None:
        if tta_level is not None:  # the option before it was an override like any other
            args = [*args, f"tta_level={tta_level}"]
        _eval_saved(args, weights, recipe, data, device, data_dir, warmup)
        return
    if (reweight is None and not vary) or not args or "=" in args[0]:
        raise HotlapError(
            "give a sweep and --reweight or --vary (hotlap eval ID --reweight 0.30:0.70:0.05 "
            "[objective.target.at_least=0.94]), or --weights PATH --recipe NAME --data NAME"
        )
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        derived = _derive(store, args[0], reweight, vary or [], name, device, args[1:])
        _drive_derived(store, derived, data_dir, warmup)


def _eval_saved(
    overrides: list[str],
    weights: Path,
    recipe: str | None,
    data: str | None,
    device: str,
    data_dir: Path | None,
    warmup: bool,
) -> None:
    from hotlap.offline import evaluate_saved
    from hotlap.recipes import get_recipe

    if recipe is None or data is None:
        raise HotlapError("--weights needs --recipe NAME and --data NAME")
    result = evaluate_saved(
        recipe,
        overrides,
        weights,
        data=data,
        device=device,
        data_dir=str(data_dir) if data_dir else None,
        warmup=warmup,
    )
    table = Table(title=f"{weights} ({recipe} on {data}, {result.precision})", title_justify="left")
    shown = [m for m in get_recipe(recipe).metrics if m.name in result.metrics and m.name not in TRAINING]
    cells = [
        m.format(result.metrics[m.name], digits=4 if m.kind == "time" else None, unit=False) for m in shown
    ]
    for metric in shown:
        table.add_column(f"{metric.name} {metric.shown_unit}".strip(), justify="right")
    logits = result.artifacts.get("logits.npy")  # (views, images, classes): airbench's TTA views
    if logits is not None and logits.ndim == 3:
        table.add_column("views", justify="right")
        cells.append(str(logits.shape[0]))
    table.add_row(*cells)
    console.print(table)
