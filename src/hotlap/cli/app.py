"""The typer app, its console, and the options several commands share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hotlap.errors import HotlapError
from hotlap.io import folder_problem

app = typer.Typer(
    name="hotlap",
    help="Find the fastest training configuration that reliably reaches a target accuracy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()
_interrupt_said: list[str] = []  # what an interrupted command said (main says it otherwise)


def interrupted(message: str) -> typer.Exit:
    """Say what Ctrl-C left behind (rich markup), and the exit to raise: `raise interrupted(...)`."""
    console.print(message)
    _interrupt_said.append(message)
    return typer.Exit(130)


def interrupt_said(*, reset: bool = False) -> bool:
    said = bool(_interrupt_said)
    if reset:  # a new command line (the tests run several in one process)
        _interrupt_said.clear()
    return said


Overrides = Annotated[list[str] | None, typer.Argument(help="config overrides KEY=VALUE", show_default=False)]
DataOpt = Annotated[str, typer.Option("--data", help="dataset: cifar10, cifar100, digits, synthetic[:N]")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="dataset cache [env HOTLAP_DATA; ~/.cache/hotlap/data]"),
]

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
    bool,
    typer.Option(
        "--warmup/--no-warmup",
        help="an untimed one-epoch run per training shape first, on a GPU (a CPU: executor option warmup: true)",
    ),
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
    typer.Option("--allow-device-change", help="resume on another device model (the report says times mix)"),
]


def _check_out(path: Path | None, *, folder: bool = False) -> None:
    """An --out the command can write to, or a one-line error before any work is done."""
    if path is None:
        return
    if folder:
        problem = folder_problem(path)
        if problem is not None:
            raise HotlapError(f"--out {path}: {problem}")
        return
    if path.is_dir():
        raise HotlapError(f"--out {path} is a folder; give a file name")
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise HotlapError(f"--out {path}: {path.parent} is not a writable folder")
