"""The `hotlap` command line: parses, calls the library, prints. User errors exit 2 in one line.

One module per command group: `runs` (run, recipes, datasets, show, download), `sweeps` (sweep,
resume, status, ls), `reports` (export, report, compare, best-so-far), `evaluate` (eval).
"""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
import sys
from typing import Annotated

import typer

from hotlap import interrupts
from hotlap.cli import evaluate, reports, runs, sweeps  # noqa: F401  (register the commands)
from hotlap.cli.app import app, console, interrupt_said
from hotlap.errors import HotlapError

__all__ = ["app", "console", "main"]

# `hotlap --help` lists the commands in the order of a study: run, sweep, read, evaluate.
GC_THRESHOLD = 50_000  # allocations between young collections (CPython: 700)
ORDER = (
    "run",
    "recipes",
    "datasets",
    "show",
    "download",
    "plan",
    "sweep",
    "resume",
    "status",
    "ls",
    "export",
    "report",
    "compare",
    "best-so-far",
    "eval",
)
app.registered_commands.sort(
    key=lambda command: ORDER.index(command.name or command.callback.__name__)  # type: ignore[union-attr]
)


def _print_version(value: bool) -> None:
    if value:
        from hotlap import __version__

        print(f"hotlap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", is_eager=True, callback=_print_version),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="show the traceback behind an error [env HOTLAP_DEBUG=1]"),
    ] = False,
) -> None:
    """Find the fastest training configuration that reliably reaches a target accuracy."""


def main() -> None:
    """Entry point: run the app. A HotlapError, a usage error (unknown option, missing argument,
    bad value) or a damaged store becomes one line on stderr and exit code 2."""
    if "--debug" in sys.argv[1:]:  # anywhere on the line: errors then show their traceback
        sys.argv.remove("--debug")
        os.environ["HOTLAP_DEBUG"] = "1"
    usage_error, click_error, no_args = _click_errors()
    interrupt_said(reset=True)
    _one_line_warnings()
    try:
        from hotlap import load_plugins

        load_plugins()
        # A command builds up to millions of small objects and few cycles: what was imported is
        # kept out of every collection, and collections come less often (a report of 50,000
        # configs spent a second in collections that freed nothing).
        gc.freeze()
        gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
        with interrupts.noted():
            code = app(standalone_mode=False)
    except HotlapError as exc:
        _fail(str(exc), exc.exit_code, exc)
    except no_args as exc:
        print(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(2)
    except usage_error as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "hotlap"
        _fail(f"{exc.format_message().rstrip('.')} (see: {where} --help)", 2)
    except click_error as exc:  # a bad file argument, for one
        _fail(exc.format_message(), 2)
    except typer.Abort:  # Ctrl-D at a prompt
        _fail("aborted", 130)
    except sqlite3.DatabaseError as exc:  # OperationalError included
        if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
            raise  # a bug, not a damaged file: keep its traceback
        from hotlap.store import damaged

        _fail(damaged(None, exc), 2)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            _fail(full_disk(exc), 2)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and exc.filename:
            _fail(
                f"{exc.filename}: {exc.strerror} (a read-only file system, or another user's file?)", 2, exc
            )
        raise
    except KeyboardInterrupt:  # outside the commands (plugins importing, the interpreter's exit)
        code = 130
    if code == 130 and not interrupt_said():
        print(
            "hotlap: interrupted; finished runs are stored (hotlap status shows where it stands)",
            file=sys.stderr,
        )
    sys.exit(code if isinstance(code, int) else 0)


def _one_line_warnings() -> None:
    """hotlap's own warnings (`HotlapWarning`) print as one line, `hotlap: warning: ...`, once per
    message; every other warning as Python prints it."""
    import warnings

    from hotlap.errors import HotlapWarning

    shown = warnings.showwarning
    if getattr(shown, "one_line", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if issubclass(category, HotlapWarning):
            print(f"hotlap: warning: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    show.one_line = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def full_disk(exc: OSError) -> str:
    """The one line for a write that found the disk full (or the quota spent)."""
    where = f" writing {exc.filename}" if exc.filename else ""
    return (
        f"{exc.strerror or 'no space left on device'}{where}: free space on that disk, then run the same "
        "command again (a sweep resumes where it stopped: finished runs are stored, none runs twice)"
    )


def _click_errors() -> tuple[type[Exception], type[Exception], type[Exception]]:
    """Click's UsageError, ClickException and NoArgsIsHelpError as this typer raises them (typer
    0.29 vendors click under another module name), found from typer's public BadParameter."""
    mro = typer.BadParameter.__mro__
    usage = next(c for c in mro if c.__name__ == "UsageError")
    click_error = next(c for c in mro if c.__name__ == "ClickException")
    no_args = getattr(sys.modules[usage.__module__], "NoArgsIsHelpError", None)
    return usage, click_error, no_args or _Never


class _Never(Exception):
    """Stands for an exception class this click does not have."""


def _fail(message: str, code: int, exc: BaseException | None = None) -> None:
    if exc is not None and os.environ.get("HOTLAP_DEBUG") == "1":
        import traceback

        traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
    print(f"hotlap: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)
