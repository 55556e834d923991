"""Driving sweeps and reading their state: `sweep`, `resume`, `status`, `ls`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hotlap.cli.app import (
    CallbackOpt,
    DataDirOpt,
    DeviceChangeOpt,
    ExecutorOpt,
    RetryOpt,
    SpecOverrides,
    WarmupOpt,
    WorkdirOpt,
    app,
    console,
)  # fmt: skip
from hotlap.cli.driving import _drive, _executor, _print_status
from hotlap.errors import HotlapError


def _cli_overrides(
    executor: str | None, callbacks: list[str] | None, spec_callbacks: list[str]
) -> list[str]:
    """--executor and --callback as spec overrides (stored with the sweep)."""
    items = [f"executor={executor}"] if executor else []
    if callbacks:
        merged = list(dict.fromkeys([*spec_callbacks, *callbacks]))
        items.append(f"callbacks=[{', '.join(merged)}]")
    return items


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
    from hotlap.sweep.validate import load_spec, shadowed

    spec = load_spec(spec_path, overrides or [])
    extra = _cli_overrides(executor, callback, spec.callbacks)
    if extra:
        spec = load_spec(spec_path, [*(overrides or []), *extra])
    for warning in shadowed(spec):
        print(f"hotlap: {warning}", file=sys.stderr)
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


@app.command("ls")
def list_sweeps(workdir: WorkdirOpt = None) -> None:
    """The sweeps in the store with their state."""
    from hotlap.store import open_store
    from hotlap.sweep.session import is_locked

    with open_store(workdir, create=False) as store:
        sweeps = [(record, store.counts(record.id)) for record in store.sweeps()]
    headers = ("sweep", "recipe", "dataset", "state", "done", "failed", "queued", "updated")
    rows = []
    for record, counts in sweeps:
        state = record.state
        if state == "running" and not is_locked(record.directory):
            state = "interrupted"
        rows.append((record.id, record.recipe, record.dataset, state, str(counts["done"]), str(counts["failed"]),
                     str(counts["queued"] + counts["running"]), record.updated[:16].replace("T", " ")))  # fmt: skip
    # The id is what every other command takes: never cut. Where the table does not fit the
    # terminal, each sweep is its id on a line of its own and the rest on the line below.
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    if sum(widths) + 3 * (len(headers) - 1) <= console.width:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for index, header in enumerate(headers):
            table.add_column(header, no_wrap=True, justify="right" if 4 <= index <= 6 else "left")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
        return
    for row in rows:
        sweep_id, recipe, dataset, state, done, failed, queued, updated = row
        console.print(sweep_id, highlight=False, markup=False, soft_wrap=True)
        console.print(
            f"  {state}: {done} done, {failed} failed, {queued} queued; {recipe} on {dataset}; "
            f"updated {updated}",
            highlight=False,
            markup=False,
            style="dim",
        )
