"""The `hotlap` command line: parses, calls the library, prints. User errors exit 2 in one line.

One module per command group: `runs` (run, recipes, datasets, show, download), `sweeps` (sweep,
resume, status, ls), `reports` (export, report, compare), `evaluate` (eval).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hotlap.cli import evaluate, reports, runs, sweeps  # noqa: F401  (register the commands)
from hotlap.cli.app import app, console
from hotlap.errors import HotlapError

__all__ = ["app", "console", "main"]

# `hotlap --help` lists the commands in the order of a study: run, sweep, read, evaluate.
ORDER = ("run", "recipes", "datasets", "show", "download", "sweep", "resume", "status", "ls", "export", "report",
         "compare", "eval")  # fmt: skip
app.registered_commands.sort(
    key=lambda command: ORDER.index(command.name or command.callback.__name__)  # type: ignore[union-attr]
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
        from hotlap import load_plugins

        load_plugins()
        app()
    except HotlapError as exc:
        message = " ".join(str(exc).split())
        print(f"hotlap: error: {message}", file=sys.stderr)
        sys.exit(exc.exit_code)
