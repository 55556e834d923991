"""The driver: runs a sweep to its end over (config, seed) pairs, each exactly once.

One process drives a sweep at a time (an exclusive lock on the sweep's directory, released by the
OS even on SIGKILL), so any run the store shows as `running` when the lock is taken was left by a
dead driver and goes back to the queue. The driver alone writes to the store; executors return
outcomes as plain data. A finished run's artifacts are renamed into place before its row is marked
done, so a kill between the two only repeats that run.

Stages: `search` proposes configs with the strategy (at the fidelity's low value when a fidelity
is set) and runs each on every seed; `promote` then runs the best `promote` configs at full
fidelity. The baseline config runs in every stage.
"""

from __future__ import annotations

import collections
import datetime as dt
import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotlap.config import config_hash, resolve_config
from hotlap.errors import HotlapError
from hotlap.executors import Executor, Outcome, Task
from hotlap.io import atomic_directory, atomic_write_json, atomic_write_text, to_json
from hotlap.recipes import get_recipe
from hotlap.store import ConfigRecord, RunRecord, Store, SweepRecord
from hotlap.sweep.results import ConfigSummary, best_config, objective_values, summarize_configs
from hotlap.sweep.spec import METRICS, SpecError, SweepSpec, parse_spec
from hotlap.sweep.strategies import Proposal, get_strategy

__all__ = ["Engine", "SweepReporter", "SweepResult", "open_sweep"]

CONFIG_ID_LENGTH = 10


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def open_sweep(
    store: Store, spec: SweepSpec, *, directory: Path | None = None, sweep_id: str | None = None
) -> tuple[SweepRecord, bool]:
    """The sweep named `spec.name`: created if new, else checked against the stored spec.

    A changed space, recipe, dataset (or any field that defines the results) is refused with the
    names of what changed; budget, device and failure limits may change between sessions.
    """
    existing = store.sweep(spec.name)
    if existing is not None:
        stored = parse_spec(existing.spec)
        changed = [k for k, v in spec.identity().items() if stored.identity()[k] != v]
        if changed:
            raise SpecError(
                f"sweep {spec.name!r} exists ({existing.id}) and its spec changed: {', '.join(changed)}; "
                "restore those fields or give the sweep a new name"
            )
        if spec.to_plain() != existing.spec:
            store.update_sweep(existing.id, spec=spec.to_plain())
            existing = store.sweep(existing.id)
            assert existing is not None
        return existing, False
    sweep_id = sweep_id or f"{spec.name}-{_stamp()}"
    while store.sweep(sweep_id) is not None:  # two sweeps of one name within a second
        sweep_id = f"{spec.name}-{_stamp()}-{os.urandom(2).hex()}"
    directory = directory or store.workdir / "sweeps" / sweep_id
    sweep = store.create_sweep(
        sweep_id=sweep_id, name=spec.name, recipe=spec.recipe, dataset=spec.dataset, spec=spec.to_plain(),
        spec_digest=spec.digest(), directory=directory,
    )  # fmt: skip
    return sweep, True


@contextmanager
def sweep_lock(directory: Path, sweep_id: str) -> Iterator[None]:
    """Exclusive, process-lifetime lock on a sweep: the OS drops it when the holder dies."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise HotlapError(
            f"sweep {sweep_id} is being run by {holder}; wait for it or stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def is_locked(directory: Path) -> bool:
    """Whether a live process drives the sweep in `directory`."""
    path = directory / ".lock"
    if not path.exists():
        return False
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


class SweepReporter:
    """What the engine tells the outside world; every method is a no-op here."""

    def start(self, sweep: SweepRecord, total: int | None, finished: int) -> None: ...
    def stage(self, name: str, fidelity: str) -> None: ...
    def run_started(self, run: RunRecord, params: dict[str, Any]) -> None: ...
    def run_finished(
        self, run: RunRecord, outcome: Outcome, best: ConfigSummary | None
    ) -> None: ...
    def message(self, text: str) -> None: ...
    def finish(self, result: SweepResult) -> None: ...


@dataclass(frozen=True)
class SweepResult:
    sweep: SweepRecord
    state: str  # done, stopped, failed
    message: str
    best: ConfigSummary | None
    ran: int  # runs finished in this session


@dataclass
class _Stage:
    """The work of one stage: queued runs, unfinished runs per config, proposals awaiting results."""

    fidelity: str
    queue: collections.deque[RunRecord] = field(default_factory=collections.deque)
    remaining: collections.Counter[str] = field(default_factory=collections.Counter)
    pending: dict[str, list[Proposal | None]] = field(default_factory=dict)


class _Stop(Exception):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


class Engine:
    def __init__(
        self,
        store: Store,
        sweep: SweepRecord,
        executor: Executor,
        *,
        reporter: SweepReporter | None = None,
        retry_failed: bool = False,
        data_dir: str | None = None,
    ) -> None:
        self.store = store
        self.sweep = sweep
        self.spec = parse_spec(sweep.spec)
        self.recipe = get_recipe(self.spec.recipe)
        self.executor = executor
        self.reporter = reporter or SweepReporter()
        self.retry_failed = retry_failed
        self.data_dir = data_dir
        self.directory = sweep.directory
        self.worker = f"pid {os.getpid()} on {socket.gethostname()}"
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.ran = 0
        self.configs: dict[str, ConfigRecord] = {}
        self.summaries: dict[tuple[str, str], ConfigSummary] = {}

    # --- the whole sweep -----------------------------------------------------------------------

    def run(self) -> SweepResult:
        with sweep_lock(self.directory, self.sweep.id):
            stale = self.store.requeue(self.sweep.id, statuses=("running",))
            retried = (
                self.store.requeue(self.sweep.id, statuses=("failed",)) if self.retry_failed else 0
            )
            self.executor.prepare(self.spec.dataset, self.data_dir, self.spec.device)
            self.store.update_sweep(self.sweep.id, state="running", message=None)
            self._write_session_files()
            self._load()
            self.reporter.start(
                self.sweep,
                self._planned_runs(),
                sum(s.n + s.failed for s in self.summaries.values()),
            )
            if stale:
                self._log(f"re-queued {stale} run(s) left running by an earlier session")
            if retried:
                self._log(f"re-queued {retried} failed run(s) (--retry-failed)")
            try:
                state, message = self._drive()
            except KeyboardInterrupt:
                self.store.requeue(self.sweep.id, statuses=("running",))
                self._finish("stopped", f"interrupted; resume with: hotlap resume {self.sweep.id}")
                raise
            return self._finish(state, message)

    def _drive(self) -> tuple[str, str]:
        fidelity = self.spec.fidelity
        try:
            self.reporter.stage("search", "low" if fidelity else "full")
            self._search("low" if fidelity else "full")
            if fidelity is not None:
                self.reporter.stage("promote", "full")
                self._promote()
        except _Stop as stop:
            return stop.state, stop.message
        done = self.store.counts(self.sweep.id)
        return "done", f"{done['done']} runs done, {done['failed']} failed"

    def _finish(self, state: str, message: str) -> SweepResult:
        best = best_config(self.summaries.values(), self.spec.primary)
        if best is not None:
            self._copy_best(best)
        self.store.update_sweep(self.sweep.id, state=state, message=message)
        self._log(f"sweep {state}: {message}")
        sweep = self.store.sweep(self.sweep.id)
        assert sweep is not None
        result = SweepResult(sweep, state, message, best, self.ran)
        self.reporter.finish(result)
        return result

    # --- stages --------------------------------------------------------------------------------

    def _search(self, fidelity: str) -> None:
        strategy = get_strategy(self.spec)
        stage = _Stage(fidelity)
        history = []
        for config in self.configs.values():
            if config.origin == "baseline":
                continue
            if self._unfinished(config.config_id, fidelity):
                stage.pending[config.config_id] = [None]  # proposed in an earlier session
            else:
                history.append((config.params, self._values(config.config_id, fidelity)))
        strategy.restore(history)
        if self.spec.baseline is not None:
            self._enqueue(self._register({}, origin="baseline", baseline=True), stage)
        for config_id in stage.pending:
            self._enqueue(self.configs[config_id], stage)
        finite = self.spec.strategy.name in ("grid", "brute")
        asked = self.sweep.trials_asked

        def refill() -> bool:
            """Ask the strategy until a config has runs to do; False when it has nothing more."""
            nonlocal asked
            while True:
                if (
                    not finite
                    and self.spec.strategy.trials is not None
                    and asked >= self.spec.strategy.trials
                ):
                    return False
                proposal = strategy.ask()
                if proposal is None:
                    return False
                config = self._register(proposal.params, origin=self.spec.strategy.name)
                if not finite:
                    asked += 1
                    self.store.update_sweep(self.sweep.id, trials_asked=asked)
                elif config.config_id not in stage.pending and not self._unfinished(
                    config.config_id, fidelity
                ):
                    continue  # an enumerated config finished in an earlier session
                stage.pending.setdefault(config.config_id, []).append(proposal)
                if self._enqueue(config, stage):
                    return True
                if stage.remaining[config.config_id] == 0:  # a duplicate of a finished config
                    self._resolve(config.config_id, stage, strategy)

        self._dispatch(stage, refill, lambda config_id: self._resolve(config_id, stage, strategy))

    def _promote(self) -> None:
        assert self.spec.fidelity is not None
        ranked = [
            s for s in self.summaries.values()
            if s.fidelity == "low" and s.n > 0 and not self.configs[s.config_id].is_baseline
        ]  # fmt: skip
        primary = self.spec.primary
        ranked.sort(key=lambda s: -primary.sign * (s.mean(primary.metric) or 0.0))
        chosen = [self.configs[s.config_id] for s in ranked[: self.spec.fidelity.promote]]
        stage = _Stage("full")
        if self.spec.baseline is not None:
            self._enqueue(self._register({}, origin="baseline", baseline=True), stage)
        for config in chosen:
            self._enqueue(config, stage)
        self._log(
            f"promoting {len(chosen)} config(s) to full fidelity: {', '.join(c.config_id for c in chosen)}"
        )
        self._dispatch(stage, lambda: False, lambda config_id: None)

    # --- dispatching runs ----------------------------------------------------------------------

    def _dispatch(self, stage: _Stage, refill: Any, on_config_done: Any) -> None:
        """Keep the executor full from the stage's queue, refilling it from the strategy."""
        inflight: dict[Future[Outcome], RunRecord] = {}
        stop: _Stop | None = None
        while True:
            while stop is None and len(inflight) < self.executor.capacity:
                if not stage.queue and not refill():
                    break
                stop = self._budget_stop()
                if stop is not None:
                    break
                run = stage.queue.popleft()
                config = self.configs[run.config_id]
                if not self.store.claim(run.id, worker=self.worker):
                    stage.remaining[run.config_id] -= 1  # taken out of the queue by someone else
                    continue
                self.reporter.run_started(run, config.params)
                inflight[self.executor.submit(self._task(run, config))] = run
            if not inflight:
                break
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in finished:
                run = inflight.pop(future)
                self._record(run, future.result())
                stage.remaining[run.config_id] -= 1
                if stage.remaining[run.config_id] == 0:
                    on_config_done(run.config_id)
                if stop is None:
                    stop = self._failure_stop()
        if stop is not None:
            raise stop

    def _budget_stop(self) -> _Stop | None:
        budget = self.spec.budget
        if budget.max_runs is None and budget.max_time is None:
            return None
        runs, seconds = self.store.spent(self.sweep.id)
        if budget.max_runs is not None and runs >= budget.max_runs:
            return _Stop("stopped", f"budget reached: {runs} runs (max_runs {budget.max_runs})")
        if budget.max_time is not None and seconds >= budget.max_time:
            return _Stop(
                "stopped", f"budget reached: {seconds:.0f} s of runs (max_time {budget.max_time:g})"
            )
        return None

    def _failure_stop(self) -> _Stop | None:
        limit = self.spec.max_consecutive_failures
        if self.consecutive_failures < limit:
            return None
        return _Stop(
            "failed",
            f"stopped after {self.consecutive_failures} consecutive failed runs (last: {self.last_error}); "
            f"fix the cause, then: hotlap resume {self.sweep.id} --retry-failed",
        )

    # --- configs and runs ----------------------------------------------------------------------

    def _register(
        self, params: dict[str, Any], *, origin: str, baseline: bool = False
    ) -> ConfigRecord:
        overrides = (
            {**self.spec.base, **(self.spec.baseline or {})}
            if baseline
            else self.spec.overrides_for(params)
        )
        config = self.recipe.config(overrides)
        digest = config_hash(self.recipe.name, config)
        record = self.store.add_config(
            self.sweep.id, config_id=digest[:CONFIG_ID_LENGTH], config_hash=digest, origin=origin,
            is_baseline=baseline, params=params, config=config.model_dump(),
        )  # fmt: skip
        self.configs[record.config_id] = record
        return record

    def _enqueue(self, config: ConfigRecord, stage: _Stage) -> bool:
        """Queue the config's runs that still have to run; True if any were added."""
        self.store.ensure_runs(self.sweep.id, config.config_id, self.spec.seeds, stage.fidelity)
        queued = {run.id for run in stage.queue}
        runs = [
            r for r in self.store.runs(self.sweep.id, config_id=config.config_id, fidelity=stage.fidelity, status="queued")
            if r.id not in queued
        ]  # fmt: skip
        stage.queue.extend(runs)
        stage.remaining[config.config_id] += len(runs)
        return bool(runs)

    def _unfinished(self, config_id: str, fidelity: str) -> bool:
        """Whether some seed of the config has no finished run at this fidelity."""
        finished = {
            r.seed for r in self.store.runs(self.sweep.id, config_id=config_id, fidelity=fidelity)
            if r.status in ("done", "failed")
        }  # fmt: skip
        return not set(self.spec.seeds) <= finished

    def _values(self, config_id: str, fidelity: str) -> list[float] | None:
        summary = self.summaries.get((config_id, fidelity))
        return objective_values(summary, self.spec.objective) if summary else None

    def _resolve(self, config_id: str, stage: _Stage, strategy: Any) -> None:
        """Tell the strategy a finished config's values, once for each time it proposed it."""
        values = self._values(config_id, stage.fidelity)
        for proposal in stage.pending.pop(config_id, []):
            if proposal is None:
                strategy.restore([(self.configs[config_id].params, values)])
            else:
                strategy.tell(proposal, values)

    def _task(self, run: RunRecord, config: ConfigRecord) -> Task:
        values = config.config
        if run.fidelity == "low":
            assert self.spec.fidelity is not None
            low = resolve_config(
                self.recipe.config_cls,
                {self.spec.fidelity.key: self.spec.fidelity.low},
                base=self.recipe.config_cls.model_validate(values),
            )
            values = low.model_dump()
        return Task(
            run_id=run.id, recipe=self.recipe.name, config=values, dataset=self.spec.dataset, seed=run.seed,
            device=self.spec.device, data_dir=self.data_dir, keep_weights=self.spec.keep_weights,
        )  # fmt: skip

    def _record(self, run: RunRecord, outcome: Outcome) -> None:
        config = self.configs[run.config_id]
        if outcome.status == "done":
            self._write_artifacts(run, config, outcome)
            self.consecutive_failures = 0
        else:
            self.consecutive_failures += 1
            self.last_error = outcome.error
        if not self.store.finish(run.id, outcome.fields()):
            raise HotlapError(
                f"run {run.id} of sweep {self.sweep.id} was changed by another process"
            )
        self.ran += 1
        key = (run.config_id, run.fidelity)
        if key not in self.summaries:
            self.summaries[key] = ConfigSummary(
                run.config_id, run.fidelity, config.params, config.is_baseline
            )
        if outcome.status == "done":
            self.summaries[key].add(outcome.metrics)
        else:
            self.summaries[key].failed += 1
        fields = outcome.fields()
        metrics = fields.pop("metrics")
        for key in ("run_id", "status", "warmup_time"):
            fields.pop(key)
        line = {"config_id": run.config_id, "seed": run.seed, "fidelity": run.fidelity,
                "status": outcome.status, **metrics, **fields}  # fmt: skip
        with (self.directory / "runs.jsonl").open("a") as handle:
            handle.write(to_json(line) + "\n")
        if outcome.warmup_time is not None:
            self._log(
                f"[warmup] an untimed run on random labels took {outcome.warmup_time:.2f}s, excluded from all statistics"
            )
        self._log(self._describe(run, outcome))
        self.reporter.run_finished(
            run, outcome, best_config(self.summaries.values(), self.spec.primary)
        )

    def _describe(self, run: RunRecord, outcome: Outcome) -> str:
        where = f"config {run.config_id} seed {run.seed}" + (
            " (low fidelity)" if run.fidelity == "low" else ""
        )
        if outcome.status != "done":
            return f"{where} FAILED: {outcome.error}"
        m = outcome.metrics
        return (
            f"{where} done: accuracy {m['accuracy']:.4f} tta_accuracy {m['tta_accuracy']:.4f} "
            f"train_time {m['train_time']:.3f}s eval_time {m['eval_time']:.3f}s"
        )

    # --- files ---------------------------------------------------------------------------------

    def run_directory(self, config_id: str, seed: int, fidelity: str) -> Path:
        suffix = "" if fidelity == "full" else f"-{fidelity}"
        return self.directory / config_id / f"seed-{seed}{suffix}"

    def _write_artifacts(self, run: RunRecord, config: ConfigRecord, outcome: Outcome) -> None:
        """The run's folder, complete or absent (a rerun after a kill replaces its leftovers)."""
        task = self._task(run, config)
        described = {"recipe": task.recipe, "dataset": task.dataset, "seed": run.seed, "fidelity": run.fidelity,
                     "config_id": run.config_id, "params": config.params, "config": task.config}  # fmt: skip
        with atomic_directory(self.run_directory(run.config_id, run.seed, run.fidelity)) as tmp:
            (tmp / "config.json").write_text(to_json(described, indent=2) + "\n")
            (tmp / "metrics.json").write_text(to_json(outcome.fields(), indent=2) + "\n")
            if outcome.weights is not None:
                (tmp / "model.pt").write_bytes(outcome.weights)

    def _copy_best(self, best: ConfigSummary) -> None:
        """The best run of the best config -> <sweep>/best/ (its config, metrics, weights)."""
        primary = self.spec.primary
        runs = [
            r for r in self.store.runs(self.sweep.id, config_id=best.config_id, fidelity=best.fidelity, status="done")
            if self.run_directory(r.config_id, r.seed, r.fidelity).exists()
        ]  # fmt: skip
        if not runs:
            return
        top = max(runs, key=lambda r: primary.sign * (r.value(primary.metric) or 0.0))
        summary = {
            "config_id": best.config_id, "fidelity": best.fidelity, "params": best.params, "n": best.n,
            "seed": top.seed, "objective": primary.model_dump(),
            "mean": {m: best.mean(m) for m in METRICS}, "std": {m: best.std(m) for m in METRICS},
        }  # fmt: skip
        with atomic_directory(self.directory / "best") as tmp:
            shutil.copytree(
                self.run_directory(top.config_id, top.seed, top.fidelity), tmp, dirs_exist_ok=True
            )
            (tmp / "summary.json").write_text(to_json(summary, indent=2) + "\n")

    def _write_session_files(self) -> None:
        import yaml

        from hotlap.envinfo import environment, resolve_device

        atomic_write_text(
            self.directory / "spec.yaml", yaml.safe_dump(self.spec.to_plain(), sort_keys=False)
        )
        try:
            device = resolve_device(self.spec.device)
        except HotlapError:
            return
        atomic_write_json(self.directory / "env.json", environment(device))

    def _load(self) -> None:
        self.configs = {c.config_id: c for c in self.store.configs(self.sweep.id)}
        self.summaries = summarize_configs(self.configs.values(), self.store.runs(self.sweep.id))

    def _planned_runs(self) -> int | None:
        """Runs the whole sweep will make, where the strategy says how many configs it proposes."""
        finite = self.spec.strategy.name in ("grid", "brute")
        configs = get_strategy(self.spec).total() if finite else self.spec.strategy.trials
        if configs is None:
            return self.spec.budget.max_runs
        seeds, baseline = len(self.spec.seeds), int(self.spec.baseline is not None)
        total = (configs + baseline) * seeds
        if self.spec.fidelity is not None:
            total += (min(self.spec.fidelity.promote, configs) + baseline) * seeds
        if self.spec.budget.max_runs is not None:
            total = min(total, self.spec.budget.max_runs)
        return total

    def _log(self, message: str) -> None:
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        with (self.directory / "log.txt").open("a") as handle:
            handle.write(f"{stamp} {message}\n")
        self.reporter.message(message)
