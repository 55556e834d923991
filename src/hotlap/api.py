"""The library's front door: load a spec, plan, run or resume a sweep, read its status and report.

The CLI calls these and prints what they return. Each opens the store of `workdir` (default
`$HOTLAP_HOME`, else `./hotlap-runs`) for the length of the call.

    import hotlap

    spec = hotlap.load_spec("examples/variants.yaml", ["dataset=digits", "device=cpu"])
    result = hotlap.run_sweep(spec)
    report = hotlap.load_report(result.sweep.id)
    print(report.table)            # one row per config: a pandas DataFrame
    print(report.recommendation)   # the decision, as one sentence
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from hotlap.analysis.configs import Analysis
    from hotlap.analysis.results import SweepResult
    from hotlap.callbacks import Callback
    from hotlap.engine.plan import Plan
    from hotlap.executors import Executor
    from hotlap.spec.schema import SweepSpec
    from hotlap.store import Store, SweepRecord

__all__ = [
    "Report",
    "SweepStatus",
    "load_report",
    "load_spec",
    "plan_sweep",
    "resume_sweep",
    "run_sweep",
    "sweep_status",
]

Workdir = str | os.PathLike[str] | None


def load_spec(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> SweepSpec:
    """The validated spec of a YAML file, with dotted FIELD=VALUE overrides (`seeds=3`)."""
    from hotlap.spec.validate import load_spec as load

    return load(path, list(overrides))


def plan_sweep(spec: SweepSpec, *, workdir: Workdir = None) -> Plan:
    """What running `spec` would do (configs, seeds, stages, runs, a time estimate from the store's
    earlier runs on this device); nothing is run or written."""
    from hotlap.devices import same_device
    from hotlap.engine.plan import make_plan
    from hotlap.engine.session import changed_fields
    from hotlap.envinfo import device_name, resolve_device_name
    from hotlap.errors import HotlapError
    from hotlap.store import DB_NAME, default_workdir, open_store

    home = Path(workdir) if workdir is not None else default_workdir()
    if home.exists() and not home.is_dir():
        raise HotlapError(f"the workdir {home} is a file, not a folder; check --workdir / HOTLAP_HOME")
    existing, changed, record, wall_times, past = None, [], None, [], []
    device = device_name(resolve_device_name(spec.device))
    if (home / DB_NAME).is_file():
        with open_store(home, create=False) as store:
            record = store.sweep(spec.name)
            if record is not None:
                existing, changed = store.counts(record.id), changed_fields(record, spec)
            wall_times = [
                t for d, t in store.wall_times(spec.recipe_label, spec.dataset) if same_device(d, device)
            ]
            past = [
                (t, config, evaluated)
                for d, t, config, evaluated in store.run_times(spec.recipe_label, spec.dataset)
                if same_device(d, device)
            ]
    configs, history = _comparable(spec, past if wall_times else [])
    planned = make_plan(
        spec, existing=existing, changed=changed, wall_times=wall_times, planned=configs, history=history
    )
    return dataclasses.replace(planned, device=device, stored_id=record.id if record is not None else None)


def _comparable(spec: SweepSpec, past: Sequence[tuple[float, str, bool]]) -> tuple[list[Any], list[Any]]:
    """The planned configs and the earlier runs as the estimate compares them, each by the
    training its time depends on (hotlap.engine.mix)."""
    import json

    from hotlap.engine.estimate import PastRun
    from hotlap.engine.mix import ConfigKeys, planned_configs
    from hotlap.recipes import get_recipe

    planned = planned_configs(spec) if past else []
    if not planned:
        return [], []
    keys = ConfigKeys(get_recipe(spec.recipe), spec.dataset)
    history = []
    for seconds, text, evaluated in past:
        try:
            stored = json.loads(text)
        except ValueError:  # a damaged row: no evidence
            continue
        found = keys.of(stored) if isinstance(stored, dict) else None
        if found is not None:
            history.append(PastRun(seconds, found[0], evaluated, found[2]))
    return planned, history


def prepared_executor(
    spec: SweepSpec, executor: Any = None, *, data_dir: Workdir = None, warmup: bool = True
) -> Executor:
    """`executor` (an Executor, a registered name, or None: the spec's), with the spec's data loaded
    and its device checked: before anything is written."""
    from hotlap.executors import Executor, executor_options, get_executor
    from hotlap.recipes import get_recipe

    if isinstance(executor, Executor):
        runner = executor
    else:
        name = executor or spec.executor.name
        options = dict(spec.executor.options) if name == spec.executor.name else {}
        if not warmup and "warmup" in executor_options(name):
            options["warmup"] = False
        runner = get_executor(name, **options)
    dataset = spec.preloaded_dataset(get_recipe(spec.recipe).uses_data)
    try:
        runner.prepare(dataset, str(data_dir) if data_dir else None, spec.device)
    except BaseException:
        runner.shutdown()
        raise
    return runner


def _callbacks(spec: SweepSpec, given: Sequence[Any]) -> list[tuple[str, Callback]]:
    """Those given (names, Callback objects, or (name, Callback) pairs), then the spec's callbacks
    by name that are not among them."""
    from hotlap.callbacks import get_callback

    out: list[tuple[str, Callback]] = []
    for entry in given:
        if isinstance(entry, str):
            out.append((entry, get_callback(entry)))
        elif isinstance(entry, tuple):
            out.append(entry)
        else:
            out.append((type(entry).__name__, entry))
    named = {name for name, _ in out}
    out.extend((name, get_callback(name)) for name in spec.callbacks if name not in named)
    return out


def drive(
    store: Store,
    sweep: SweepRecord,
    executor: Executor,
    *,
    callbacks: Sequence[Any] = (),
    retry_failed: bool = False,
    data_dir: Workdir = None,
    allow_device_change: bool = False,
) -> SweepResult:
    """Run the stored sweep to its end with `executor` (shut down at the end, whatever happens)."""
    from hotlap.engine.driver import Engine
    from hotlap.spec.validate import stored_spec

    engine = Engine(
        store,
        sweep,
        executor,
        callbacks=_callbacks(stored_spec(sweep.spec), callbacks),
        retry_failed=retry_failed,
        data_dir=str(data_dir) if data_dir else None,
        allow_device_change=allow_device_change,
    )
    return engine.run()


def run_sweep(
    spec: SweepSpec,
    *,
    workdir: Workdir = None,
    executor: Any = None,
    callbacks: Sequence[Any] = (),
    data_dir: Workdir = None,
    retry_failed: bool = False,
    allow_device_change: bool = False,
    warmup: bool = True,
) -> SweepResult:
    """Run `spec` as a sweep (or continue the stored sweep of its name) to its end. Returns the
    result: its state, message, best config and the analysis with the recommendation."""
    from hotlap.engine.session import open_sweep
    from hotlap.spec.validate import stored_spec
    from hotlap.store import open_store

    runner = prepared_executor(spec, executor, data_dir=data_dir, warmup=warmup)
    options: dict[str, Any] = {"callbacks": callbacks, "data_dir": data_dir}
    try:
        with open_store(workdir) as store:
            record, _ = open_sweep(store, spec)
            result = drive(
                store,
                record,
                runner,
                retry_failed=retry_failed,
                allow_device_change=allow_device_change,
                **options,
            )
            derived = reweighted_after(store, result)
            if derived is None:
                return result
            again = prepared_executor(stored_spec(derived.spec), data_dir=data_dir, warmup=warmup)
            try:
                return dataclasses.replace(result, derived=drive(store, derived, again, **options))
            finally:
                again.shutdown()
    finally:
        runner.shutdown()


def reweighted_after(store: Store, result: SweepResult) -> SweepRecord | None:
    """The derived sweep a finished sweep's spec asks for with `reweight` (its trained networks
    evaluated again offline at each value of the recipe's re-weighting field), created or reopened
    to finish; None where the sweep is not done or asks for none. Drive it like any sweep."""
    from hotlap.offline import derive_reweighted
    from hotlap.spec.validate import stored_spec

    spec = stored_spec(result.sweep.spec)
    if result.state != "done" or spec.reweight is None or spec.derived_from is not None:
        return None
    return derive_reweighted(
        store, result.sweep.id, spec.reweight_values(), device=spec.device, option="reweight"
    )


def resumed_spec(store: Store, sweep_id: str, overrides: Sequence[str] = ()) -> SweepSpec:
    """The stored spec of `sweep_id` with FIELD=VALUE overrides (a budget, the device, the executor)."""
    from hotlap.spec.errors import apply_overrides
    from hotlap.spec.fields import SpecError
    from hotlap.spec.validate import parse_spec

    record = store.require(sweep_id)
    try:
        spec = parse_spec(apply_overrides(record.spec, list(overrides)))
    except SpecError as exc:
        raise SpecError(f"sweep {record.id}: {exc}") from None
    if spec.name != record.name:
        raise SpecError("resume cannot rename a sweep")
    return spec


def resume_sweep(
    sweep_id: str, *, workdir: Workdir = None, overrides: Sequence[str] = (), **options: Any
) -> SweepResult:
    """Continue the stored sweep `sweep_id` (id or name) to its end, with FIELD=VALUE `overrides`
    (a budget, the device, the executor); `options` as `run_sweep`'s (executor, callbacks, ...)."""
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        spec = resumed_spec(store, sweep_id, overrides)
    return run_sweep(spec, workdir=workdir, **options)


@dataclass(frozen=True)
class SweepStatus:
    """Where a stored sweep stands: its record and state, run counts by status, its configs
    (planned and excluded), and the analysis of its finished runs (`analysis.best`, the decision)."""

    sweep: SweepRecord
    state: str  # the stored state, or "interrupted (...)" where no process holds it while running
    counts: dict[str, int]
    configs: int
    planned: int | None
    excluded: int
    analysis: Analysis


def status_of(store: Store, sweep: SweepRecord, analysis: Analysis | None = None) -> SweepStatus:
    """Where `sweep` stands; `analysis`: its analysis where it was just made (the engine's, at a
    sweep's end), else made here."""
    from hotlap.analysis.configs import analyze
    from hotlap.analysis.judging import planned_configs
    from hotlap.engine.session import is_locked
    from hotlap.spec.validate import stored_spec

    spec = stored_spec(sweep.spec)
    state = sweep.state
    if state == "running" and not is_locked(sweep.directory):
        state = "interrupted (no process is running it)"
    if analysis is None:
        configs, runs = store.configs(sweep.id), store.runs(sweep.id, details=False)
        analysis = analyze(spec, configs, runs, comparisons=False, devices=store.run_devices(sweep.id))
    return SweepStatus(
        sweep,
        state,
        store.counts(sweep.id),
        store.config_count(sweep.id),
        planned_configs(spec),
        len(store.excluded(sweep.id)),
        analysis,
    )


def sweep_status(sweep_id: str | None = None, *, workdir: Workdir = None) -> SweepStatus:
    """The status of sweep `sweep_id` (id or name; None: the latest)."""
    from hotlap.errors import HotlapError
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        if sweep_id is None:
            sweeps = store.sweeps()
            if not sweeps:
                raise HotlapError(f"no sweeps in {store.workdir}")
            return status_of(store, sweeps[-1])
        return status_of(store, store.require(sweep_id))


@dataclass(frozen=True)
class Report:
    """A sweep's report: `table` (one row per config and fidelity, the columns of report.csv),
    `recommendation` (the decision as one sentence), and the `analysis` behind both."""

    sweep: SweepRecord
    analysis: Analysis
    environment: dict[str, Any] | None

    @property
    def recommendation(self) -> str:
        return self.analysis.recommendation.sentence

    @property
    def recommended(self) -> str | None:
        """The recommended config's id (None: no config is recommended)."""
        return self.analysis.recommendation.config

    @property
    def table(self) -> pd.DataFrame:
        import pandas as pd

        from hotlap.report.rows import csv_columns, named_rows

        return pd.DataFrame(named_rows(self.analysis), columns=csv_columns(self.analysis))


def load_report(sweep_id: str, *, workdir: Workdir = None) -> Report:
    """The report of stored sweep `sweep_id` (id or name), read from the store."""
    from hotlap.report import load_report as load
    from hotlap.store import open_store

    with open_store(workdir, create=False) as store:
        loaded = load(store, sweep_id)
    return Report(loaded.sweep, loaded.analysis, loaded.environment)
