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


@app.command("eval", epilog=epilog("eval"))
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
        typer.Option("--vary", help="an evaluation-only field's values: FIELD=LOW:HIGH:STEP or FIELD=a,b,c"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="name of the derived sweep [<sweep>-tta]")
    ] = None,
    weights: Annotated[Path | None, typer.Option("--weights", help="a saved state_dict to evaluate")] = None,
    recipe: Annotated[str | None, typer.Option("--recipe", help="with --weights: the recipe")] = None,
    data: Annotated[str | None, typer.Option("--data", help="with --weights: the dataset")] = None,
    tta_level: Annotated[int | None, typer.Option("--tta-level", help="with --weights: 0, 1 or 2")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N]")] = "auto",
    data_dir: DataDirOpt = None,
    warmup: WarmupOpt = True,
    workdir: WorkdirOpt = None,
) -> None:
    """Evaluate without training: a sweep's networks at other evaluation-only values, or saved weights.

    --tta-weight and --vary make a derived sweep, evaluated on the sweep's trained networks (paired
    by seed), judged by the sweep's objective or the objective.* overrides given after ID;
    --weights evaluates a saved state_dict."""
    args = args or []
    if weights is not None:
        _eval_saved(args, weights, recipe, data, tta_level, device, data_dir, warmup)
        return
    if (tta_weight is None and not vary) or not args or "=" in args[0]:
        raise HotlapError(
            "give a sweep and --tta-weight or --vary (hotlap eval ID --tta-weight 0.30:0.70:0.05 "
            "[objective.target.at_least=0.94]), or --weights PATH --recipe NAME --data NAME"
        )
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        derived = _derive(store, args[0], tta_weight, vary or [], name, device, args[1:])
        _drive_derived(store, derived, data_dir, warmup)


def _eval_saved(
    overrides: list[str],
    weights: Path,
    recipe: str | None,
    data: str | None,
    tta_level: int | None,
    device: str,
    data_dir: Path | None,
    warmup: bool,
) -> None:
    from hotlap.offline import evaluate_saved

    if recipe is None or data is None:
        raise HotlapError("--weights needs --recipe NAME and --data NAME")
    result = evaluate_saved(
        recipe,
        overrides,
        weights,
        data=data,
        device=device,
        tta_level=tta_level,
        data_dir=str(data_dir) if data_dir else None,
        warmup=warmup,
    )
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
