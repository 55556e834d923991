"""The driver: runs a sweep to its end over (config, seed) pairs, each exactly once.

One process drives a sweep at a time (an exclusive lock on the sweep's directory, released by the
OS even on SIGKILL), so any run the store shows as `running` when the lock is taken was left by a
dead driver and goes back to the queue. The driver alone writes to the store; executors return
outcomes as plain data. A finished run's artifacts are renamed into place before its row is marked
done, so a kill between the two only repeats that run.

Stages: `search` proposes configs with the strategy (at the fidelity's low value when a fidelity
is set) and runs each on every seed; `promote` then runs the best `promote` configs at full
fidelity. The baseline config runs in every stage.

Configs that differ only in the recipe's evaluation-only fields share one training per seed, the
others evaluated on it (`hotlap.engine.sharing`); a derived sweep (`hotlap eval`) consists of such
evaluations only.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any

from hotlap.analysis.configs import Analysis, ConfigReport, analyze
from hotlap.analysis.judging import Guarantee, guarantee
from hotlap.analysis.results import (
    ConfigSummary,
    SweepResult,
    best_config,
    strategy_feedback,
    summarize_configs,
    weighted_score,
)
from hotlap.callbacks import Callback, Callbacks, SweepInfo
from hotlap.config import config_hash, resolve_config
from hotlap.decisions import Verdict
from hotlap.engine.artifacts import copy_best, run_directory, write_run
from hotlap.engine.exclusion import exclusion
from hotlap.engine.plan import planned_runs
from hotlap.engine.queue import RunQueue
from hotlap.engine.repair import RUNS_FILE, repair_files, runs_line
from hotlap.engine.scheduler import SeedScheduler
from hotlap.engine.session import SessionFiles, open_session, sweep_lock
from hotlap.engine.sharing import HOLD, SharedTraining, shares_training
from hotlap.errors import HotlapError
from hotlap.executors import Executor, Outcome, Task
from hotlap.faults import fault_point
from hotlap.io import to_json
from hotlap.recipes import Recipe, get_recipe
from hotlap.spec.schema import SCORE
from hotlap.spec.validate import stored_spec
from hotlap.store import ConfigRecord, RunRecord, Store, SweepRecord
from hotlap.strategies.base import Proposal, Strategy, get_strategy, is_finite

__all__ = ["Engine", "SweepResult"]

CONFIG_ID_LENGTH = 10
# A grid's or brute force's configs join in rounds of this many, their runs taken in random order
# (drift spreads over them); registering a config costs about 1-2 ms, so a round starts within 2 s.
ROUND_CONFIGS = 1000


POLL_SECONDS = 1.0  # while runs are in flight, the executor is polled at least this often (epochs)


@dataclass
class _Stage:
    """One stage's work: its seed scheduler, the runs queued for the executor, and the proposals
    waiting for a config's race to close (to be told to the strategy)."""

    name: str  # search, promote or verify
    fidelity: str
    seeds: SeedScheduler
    depth_first: bool  # extend racing configs before asking for new ones (sequential samplers)
    run_stage: str = "search"  # the runs' `stage` column
    queue: RunQueue = field(default_factory=RunQueue)  # taken in random order
    pending: dict[str, list[Proposal | None]] = field(default_factory=dict)


class _Silent(Strategy):
    """Stages without a strategy (promotion, verification) tell nobody."""

    def ask(self) -> Proposal | None:
        return None


class _Stop(Exception):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


class Engine:
    """Drives one sweep in this process. `callbacks` are (name, Callback) pairs: progress,
    trackers; one that fails is switched off with a warning and the sweep goes on."""

    def __init__(
        self,
        store: Store,
        sweep: SweepRecord,
        executor: Executor,
        *,
        callbacks: Sequence[tuple[str, Callback]] = (),
        retry_failed: bool = False,
        data_dir: str | None = None,
        allow_device_change: bool = False,
    ) -> None:
        self.store = store
        self.sweep = sweep
        self.spec = stored_spec(sweep.spec)
        self.recipe = get_recipe(self.spec.recipe)  # the default; a sweep may span several
        self.recipes = {name: get_recipe(name) for name in self.spec.recipe_names}
        self.executor = executor
        self.callbacks = Callbacks(callbacks, warn=self._log)
        self.retry_failed = retry_failed
        self.data_dir = data_dir
        self.allow_device_change = allow_device_change
        self.directory = store.sweep_folder(sweep)
        self.worker = f"pid {os.getpid()} on {socket.gethostname()}"
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.ran = 0
        self.session: int | None = None
        self.configs: dict[str, ConfigRecord] = {}
        self.summaries: dict[tuple[str, str], ConfigSummary] = {}
        self._best: ConfigSummary | None = None
        # With a target and racing, what the live display calls the best: the configs whose race
        # closed with a pass (the decision rule's current answer), not the best mean of them all.
        self._passed: set[tuple[str, str]] = set()
        self._answer: ConfigSummary | None = None
        self._files = SessionFiles(self.directory)
        self._running: dict[int, RunRecord] = {}
        self._level: Guarantee | None = None  # the levels each look is made at
        self._source_sweep: SweepRecord | None = None  # what a derived sweep evaluates
        self._device: str | None = None
        self.excluded: dict[str, str] = {}  # config id -> the per-config bound it breaks (never run)
        derived = self.spec.derived_from is not None
        self._shares = not derived and any(shares_training(self.spec, r) for r in self.recipes.values())
        self.sharing = SharedTraining(
            self.recipe_of,
            active=self._shares,
            derived=derived,
            task_config=lambda run, config: self._task(run, config).config,
        )

    # --- the whole sweep -----------------------------------------------------------------------

    def run(self) -> SweepResult:
        """Drive the sweep to its end (or its budget); the executor is shut down whatever happens."""
        try:
            return self._run()
        finally:
            self.executor.shutdown()

    def _run(self) -> SweepResult:
        derived = self.spec.derived_from is not None
        if derived:
            self._source_sweep = self.store.require(str(self.spec.derived_from))
        with sweep_lock(self.directory, self.sweep.id), contextlib.ExitStack() as files:
            files.callback(self._files.close)
            # A changed budget, device or limit is stored only now that this driver holds the lock.
            stored = self.store.sweep(self.sweep.id)
            if stored is not None and stored.spec != self.sweep.spec:
                self.store.update_sweep(self.sweep.id, spec=self.sweep.spec)
            # A derived sweep's runs carry their source's device where they time nothing; a timed
            # evaluation on another device is refused run by run instead (sharing.check_device).
            # (an executor whose workers run elsewhere, Ray's, names their device)
            self.session, warning = open_session(
                self.store,
                self.sweep,
                self.spec,
                allow_device_change=self.allow_device_change or derived,
                device_name=getattr(self.executor, "device_name", None),
            )
            if derived:
                warning = None
            self._device = self.store.sessions(self.sweep.id)[-1].device_name
            repaired = repair_files(self.store, self.sweep.id, self.directory)
            stale = self.store.requeue(self.sweep.id, statuses=("running",))
            retried = self.store.requeue(self.sweep.id, statuses=("failed",)) if self.retry_failed else 0
            dataset = self.spec.dataset if self.recipe.uses_data else None  # a script loads its own
            self.executor.prepare(dataset, self.data_dir, self.spec.device)
            self.store.update_sweep(self.sweep.id, state="running", message=None)
            self._load()
            finished = sum(s.n + s.failed for s in self.summaries.values())
            self.callbacks.sweep_start(
                SweepInfo(self.sweep, self.spec, self.store.workdir, self._planned_runs(), finished)
            )
            if warning:
                self._log(warning)
            for line in repaired:
                self._log(f"repaired: {line}")
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
            if self.spec.derived_from is not None:
                self._evaluate_derived()
                fidelity = None
            else:
                self._search("low" if fidelity else "full")
            if fidelity is not None:
                self._promote()
            if self.spec.verify is not None and self.spec.derived_from is None:
                self._verify()
        except _Stop as stop:
            return stop.state, stop.message
        done = self.store.counts(self.sweep.id)
        return "done", f"{done['done']} runs done, {done['failed']} failed"

    def _analysis(self) -> Analysis:
        return analyze(
            self.spec,
            self.store.configs(self.sweep.id),
            self.store.runs(self.sweep.id, details=False),
            comparisons=False,
            devices=self.store.run_devices(self.sweep.id),
            excluded=self.excluded,
        )

    def _finish(self, state: str, message: str) -> SweepResult:
        analysis = self._analysis()
        # A one-config sweep (`hotlap run`) has nothing to choose: best/ is its best seed, passing or not.
        best = analysis.best or (analysis.configs[0] if len(analysis.configs) == 1 else None)
        if best is not None and best.n:
            self._copy_best(analysis, best)
        self.store.update_sweep(self.sweep.id, state=state, message=message)
        self._log(f"sweep {state}: {message}")
        if analysis.configs:
            self._log(analysis.recommendation.sentence)
        sweep = self.store.sweep(self.sweep.id)
        assert sweep is not None
        result = SweepResult(sweep, state, message, analysis.best, self.ran, analysis)
        self.callbacks.sweep_end(result)
        return result

    # --- stages --------------------------------------------------------------------------------

    def _stage(
        self, name: str, fidelity: str, seeds: list[int] | None = None, run_stage: str = "search"
    ) -> _Stage:
        finite = is_finite(self.spec.strategy.name)
        racing = self.spec.racing if run_stage == "search" else None
        recorded = self.store.closed_races(self.sweep.id, fidelity, run_stage) if racing else {}
        scheduler = SeedScheduler(seeds or list(self.spec.seeds), racing, recorded)
        queue = RunQueue(f"{self.sweep.id}/{self.session}/{name}")  # the same order on a rerun
        return _Stage(name, fidelity, scheduler, depth_first=not finite, run_stage=run_stage, queue=queue)

    def _search(self, fidelity: str) -> None:
        """Propose configs with the strategy and run each on its seeds (racing: as long as it must)."""
        strategy = get_strategy(self.spec)
        stage = self._stage("search", fidelity)
        self.callbacks.stage("search", fidelity)
        history = []
        for config in list(self.configs.values()):
            if config.origin == "baseline":
                continue
            if config.config_id in self.excluded:  # breaks a per-config bound: never runs
                stage.seeds.mark_closed(config.config_id)
                history.append((config.params, None, None))
                continue
            self._join(config, stage)
            seeds = stage.seeds
            if config.config_id in seeds.closed or (
                seeds.racing is None and seeds.remaining[config.config_id] == 0
            ):
                seeds.mark_closed(config.config_id)  # finished in an earlier session
                history.append((config.params, *self._told(config.config_id, stage)))
            else:
                stage.pending[config.config_id] = [None]  # told when its race closes
        strategy.restore(history)
        if self.spec.baseline is not None:
            self._join(self._register({}, origin="baseline", baseline=True), stage)
        self._race(stage, strategy)  # configs of an earlier session that are ready to be judged
        finite = is_finite(self.spec.strategy.name)
        asked = self.sweep.trials_asked

        def refill() -> bool:
            """Ask the strategy for new configs with runs to do: one (a sequential sampler waits
            for its results), or a round of up to ROUND_CONFIGS (a grid or brute force: their runs
            are taken in random order); False when it has nothing more."""
            nonlocal asked
            joined = 0
            stage.seeds.new_round()
            while True:
                if (
                    not finite
                    and self.spec.strategy.trials is not None
                    and asked >= self.spec.strategy.trials
                ):
                    return bool(stage.queue)
                proposal = strategy.ask()
                if proposal is None:
                    return bool(stage.queue)
                config = self._register(proposal.params, origin=self.spec.strategy.name)
                config_id = config.config_id
                if not finite:
                    asked += 1
                    self.store.update_sweep(self.sweep.id, trials_asked=asked)
                if config_id in stage.seeds.closed:  # its result is known: a repeated proposal
                    if not finite:
                        strategy.tell(proposal, *self._told(config_id, stage))
                    continue
                if stage.seeds.joined(config_id):  # still running or racing
                    if not finite:
                        stage.pending[config_id].append(proposal)
                    continue
                if self._excludes(config, stage):  # known to break a bound before it runs
                    if not finite:
                        strategy.tell(proposal, None)
                    continue
                stage.pending[config_id] = [proposal]
                self._join(config, stage)
                self._race(stage, strategy)  # one whose runs all finished in an earlier session
                joined += 1
                if stage.queue and (stage.depth_first or joined >= ROUND_CONFIGS):
                    return True

        self._dispatch(stage, refill, strategy)

    def _promote(self) -> None:
        """Run the best configs of the low-fidelity screening at full fidelity."""
        assert self.spec.fidelity is not None
        # Rank on accuracy where a target is set: at low fidelity the target is out of reach.
        metric = self.spec.target.metric if self.spec.target else self.spec.primary.metric
        sign = 1.0 if self.spec.target else self.spec.primary.sign
        ranked = [
            s
            for s in self.summaries.values()
            if s.fidelity == "low" and s.n > 0 and not self.configs[s.config_id].is_baseline
        ]
        ranked.sort(key=lambda s: -sign * (s.mean(metric) or 0.0))
        chosen = [self.configs[s.config_id] for s in ranked[: self.spec.fidelity.promote]]
        stage = self._stage("promote", "full")
        self.callbacks.stage("promote", "full")
        self._log(
            f"promoting {len(chosen)} config(s) to full fidelity: {', '.join(c.config_id for c in chosen)}"
        )
        if self.spec.baseline is not None:
            self._join(self._register({}, origin="baseline", baseline=True), stage)
        for config in chosen:
            self._join(config, stage)
        silent = _Silent(self.spec)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)

    def _evaluate_derived(self) -> None:
        """A derived sweep: every config evaluated on each trained network of its source config."""
        stage = self._stage("search", "full")
        self.callbacks.stage("search", "full")
        for config in self.configs.values():
            self._join(config, stage)
        silent = _Silent(self.spec)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)

    def _verify(self) -> None:
        """Binding verification: the recommendation (and the baseline) again, on fresh seeds never
        used in the search; if it does not pass there, the next passing config, up to
        `verify.candidates`. Only a config that passes is recommended (the analysis decides)."""
        assert self.spec.verify is not None
        candidates = self._analysis().candidates[: self.spec.verify.candidates]
        if not candidates:
            self._log("verification skipped: no config to verify (none passes the target)")
            return
        self.callbacks.stage("verify", "full")
        baseline = (
            self._register({}, origin="baseline", baseline=True) if self.spec.baseline is not None else None
        )
        for i, config_id in enumerate(candidates):
            stage = self._stage("verify", "full", self.spec.verify_seeds(), run_stage="verify")
            names = [config_id]
            if i == 0 and baseline is not None and baseline.config_id != config_id:
                names.append(baseline.config_id)
            self._log(f"verifying {', '.join(names)} on {len(stage.seeds.seeds)} fresh seeds")
            for name in names:
                self._join(self.configs[name], stage)
            silent = _Silent(self.spec)
            self._race(stage, silent)
            self._dispatch(stage, lambda: False, silent)
            if self._analysis().verified is not None:
                self._log(f"verified: {config_id} passes on fresh seeds")
                return
            self._log(f"{config_id} did not pass verification")
        self._log("no config was verified")

    # --- racing --------------------------------------------------------------------------------

    def _join(self, config: ConfigRecord, stage: _Stage) -> None:
        """Add a config to a stage with its first seeds (more after a resume), and queue its runs."""
        if stage.seeds.joined(config.config_id):
            return
        existing = (
            {r.seed for r in self._stage_runs(config.config_id, stage)} if stage.seeds.racing else set()
        )
        stage.seeds.join(config.config_id, existing)
        stage.pending.setdefault(config.config_id, [])
        self._enqueue(config, stage)

    def _race(self, stage: _Stage, strategy: Strategy, *, waiting: bool = False) -> None:
        """Judge every config whose current runs are all finished (`waiting`: and those waiting for
        an extension): more seeds, or close its race."""

        def values(config_id: str) -> dict[str, list[float]] | None:
            summary = self.summaries.get((config_id, stage.fidelity))
            return summary.values if summary is not None and summary.n > 0 else None

        level = self._guarantee()
        for config_id, verdict in stage.seeds.judge(
            self.spec, values, level.look_alpha, level.time_alpha, waiting=waiting
        ):
            self._close(config_id, stage, strategy, verdict)
        if self._judges_target() and stage.run_stage == "search":
            passed = {(c, stage.fidelity) for c, d in stage.seeds.decisions.items() if d == "pass"}
            if not passed <= self._passed:
                self._passed |= passed
                self._answer = self._current_answer()

    def _guarantee(self) -> Guarantee:
        """The levels of each look (alpha split over the planned configs, calibrated over the
        looks): the same the analysis decides at."""
        if self._level is None:
            derived = len(self.configs) if self.spec.derived_from is not None else None
            self._level = guarantee(self.spec, derived)
        return self._level

    def _close(self, config_id: str, stage: _Stage, strategy: Strategy, verdict: Verdict | None) -> None:
        values, constraint = self._told(config_id, stage)
        for proposal in stage.pending.pop(config_id, []):
            if proposal is None:
                strategy.restore([(self.configs[config_id].params, values, constraint)])
            else:
                strategy.tell(proposal, values, constraint)
        if stage.seeds.racing is not None:
            seeds = stage.seeds.allotted[config_id]
            decision = verdict.decision if verdict else None
            reason = verdict.reason if verdict else "no finished run"
            self.store.close_race(
                self.sweep.id,
                config_id,
                stage.fidelity,
                stage.run_stage,
                seeds=seeds,
                decision=decision,
                reason=reason,
            )
            if decision == "pass" and stage.run_stage == "search" and self._judges_target():
                self._passed.add((config_id, stage.fidelity))
                self._answer = self._current_answer()
            self._log(f"race closed for {config_id} after {seeds} seeds: {decision}, {reason}")

    def _extend(self, stage: _Stage, strategy: Strategy) -> bool:
        """Give every config waiting for an extension `racing.step` more seeds and queue their runs
        (all of them: a round, taken in random order); False when none waits. Each is judged again
        first: looks of the others since may have told it apart."""
        while True:
            self._race(stage, strategy, waiting=True)
            stage.seeds.new_round()
            extended = queued = False
            while (config_id := stage.seeds.extend()) is not None:
                extended = True
                queued = self._enqueue(self.configs[config_id], stage) or queued
            if queued or not extended:  # (extended with nothing to run: judged in the next pass)
                return queued

    def _told(self, config_id: str, stage: _Stage) -> tuple[list[float] | None, float | None]:
        reference = None
        if self.spec.target is not None and self.spec.target.within is not None:  # relative to the baseline
            baseline = next((c for c in self.configs.values() if c.is_baseline), None)
            reference = self.summaries.get((baseline.config_id, stage.fidelity)) if baseline else None
        return strategy_feedback(self.summaries.get((config_id, stage.fidelity)), self.spec, reference)

    # --- dispatching runs ----------------------------------------------------------------------

    def _dispatch(self, stage: _Stage, refill: Any, strategy: Strategy) -> None:
        """Keep the executor full: queued runs, then new configs and racing extensions."""
        sources = (
            (lambda: self._extend(stage, strategy), refill)
            if stage.depth_first
            else (refill, lambda: self._extend(stage, strategy))
        )
        inflight: dict[Future[Outcome], RunRecord] = {}
        stop: _Stop | None = None
        while True:
            while stop is None and len(inflight) < self.executor.capacity:
                if not stage.queue and not any(source() for source in sources):
                    break
                stop = self._budget_stop()
                if stop is not None:
                    break
                run = stage.queue.take()
                config = self.configs[run.config_id]
                source = self.sharing.source_for(run)
                if source is HOLD:
                    continue
                if not self.store.claim(run.id, worker=self.worker):
                    stage.queue.add_first(self.sharing.ended(run, config, None, self.directory))
                    stage.seeds.finished(run.config_id)  # taken out of the queue by someone else
                    continue
                self.callbacks.run_start(run, config.params, config.config)
                self._running[run.id] = run
                task = self._task(run, config, source)  # type: ignore[arg-type]
                try:
                    inflight[self.executor.submit(task, self._epoch)] = run
                except Exception as exc:  # the executor could not even start it
                    self._running.pop(run.id, None)
                    self._finished(stage, strategy, run, Outcome.failure(run.id, exc))
                    if stop is None:
                        stop = self._failure_stop()
            if not inflight:
                break
            finished, _ = wait(inflight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for event in self.executor.poll():  # remote workers' epochs; a worker lost, its run re-queued
                self._log(event)
            for future in finished:
                run = inflight.pop(future)
                self._running.pop(run.id, None)
                try:
                    outcome = future.result()
                except Exception as exc:  # a future that raises fails its run, not the sweep
                    outcome = Outcome.failure(run.id, exc)
                self._finished(stage, strategy, run, outcome)
                if stop is None:
                    stop = self._failure_stop()
        if stop is not None:
            raise stop

    def _finished(self, stage: _Stage, strategy: Strategy, run: RunRecord, outcome: Outcome) -> None:
        outcome = self.sharing.check_device(run, outcome)
        if self.spec.score and outcome.status == "done":  # the weighted sum, as one more metric
            score = weighted_score(self.spec.score, outcome.metrics)
            if score is not None:
                outcome = replace(outcome, metrics={**outcome.metrics, SCORE: score})
        self._record(run, outcome)
        released = self.sharing.ended(run, self.configs[run.config_id], outcome, self.directory)
        stage.queue.add_first(released)  # siblings held for its network: next
        if stage.seeds.finished(run.config_id):
            self._race(stage, strategy)

    def _epoch(self, run_id: int, record: dict[str, Any]) -> None:
        """An epoch's record, while its run trains: to the callbacks."""
        run = self._running.get(run_id)
        if run is not None:
            self.callbacks.epoch(run, record)

    def _budget_stop(self) -> _Stop | None:
        budget = self.spec.budget
        if budget.max_runs is None and budget.max_time is None:
            return None
        runs, seconds = self.store.spent(self.sweep.id)
        resume = f"; to go on, raise it: hotlap resume {self.sweep.id} budget.{{}}=..."
        if budget.max_runs is not None and runs >= budget.max_runs:
            why = f"budget reached: {runs} runs (max_runs {budget.max_runs})"
            return _Stop("stopped", why + resume.format("max_runs"))
        if budget.max_time is not None and seconds >= budget.max_time:
            why = f"budget reached: {seconds:.0f} s of runs (max_time {budget.max_time:g})"
            return _Stop("stopped", why + resume.format("max_time"))
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

    def _register(self, params: dict[str, Any], *, origin: str, baseline: bool = False) -> ConfigRecord:
        overrides = self.spec.baseline_overrides() if baseline else self.spec.overrides_for(params)
        recipe = self.recipes[self.spec.recipe_of(params, baseline=baseline)]
        config = recipe.config(overrides)
        digest = config_hash(recipe.name, config)
        record = self.store.add_config(
            self.sweep.id,
            config_id=digest[:CONFIG_ID_LENGTH],
            config_hash=digest,
            origin=origin,
            is_baseline=baseline,
            params=params,
            config=config.model_dump(),
        )
        self.configs[record.config_id] = record
        self.sharing.add_configs([record])
        return record

    def _excludes(self, config: ConfigRecord, stage: _Stage) -> bool:
        """Whether `config` breaks a per-config bound (parameters, FLOPs, bits: known before it
        runs); if so it is recorded as excluded and never runs."""
        reason = None if config.is_baseline else exclusion(self.spec, self.recipe_of(config), config.config)
        if reason is None:
            return False
        self.store.exclude_config(self.sweep.id, config.config_id, stage.fidelity, reason)
        self.excluded[config.config_id] = reason
        stage.seeds.mark_closed(config.config_id)
        self._log(f"excluded {config.config_id} before running: {reason}")
        return True

    def recipe_of(self, config: ConfigRecord) -> Recipe:
        """The recipe a stored config belongs to (read from its swept values)."""
        return self.recipes[self.spec.recipe_of(config.params, baseline=config.is_baseline)]

    def _stage_runs(self, config_id: str, stage: _Stage) -> list[RunRecord]:
        return self.store.runs(
            self.sweep.id, config_id=config_id, fidelity=stage.fidelity, stage=stage.run_stage
        )

    def _enqueue(self, config: ConfigRecord, stage: _Stage) -> bool:
        """Queue the config's allotted runs that still have to run; True if any were added. (A
        derived sweep's config runs on the seeds its source config has a trained run of.)"""
        allotted = stage.seeds.seeds_for(config.config_id)
        if self.spec.derived_from is not None:
            allotted = self.sharing.seeds_with_source(config.config_id, allotted, stage.fidelity)
        self.store.ensure_runs(self.sweep.id, config.config_id, allotted, stage.fidelity, stage.run_stage)
        wanted = set(allotted)
        runs = [
            r
            for r in self._stage_runs(config.config_id, stage)
            if r.status == "queued" and r.id not in stage.queue and r.seed in wanted
        ]
        stage.queue.add(runs)
        stage.seeds.queued(config.config_id, len(runs))
        return bool(runs)

    def _task(self, run: RunRecord, config: ConfigRecord, source: dict[str, Any] | None = None) -> Task:
        values = config.config
        recipe = self.recipe_of(config)
        if run.fidelity == "low":
            assert self.spec.fidelity is not None
            low = resolve_config(
                recipe.config_cls,
                {self.spec.fidelity.key: self.spec.fidelity.low},
                base=recipe.config_cls.model_validate(values),
            )
            values = low.model_dump()
        return Task(
            run_id=run.id,
            recipe=recipe.name,
            config=values,
            dataset=self.spec.dataset,
            seed=run.seed,
            device=self.spec.device,
            data_dir=self.data_dir,
            # a trained network that siblings share keeps its weights for their evaluation
            keep_weights=self.spec.keep_weights or (self._shares and source is None),
            keep_artifacts=self.spec.keep_logits or (self._shares and source is None),
            source=source,
            costs=tuple(self.spec.costs),
        )

    def _record(self, run: RunRecord, outcome: Outcome) -> None:
        config = self.configs[run.config_id]
        if outcome.status == "done":
            self._write_artifacts(run, config, outcome)
            self.consecutive_failures = 0
        else:
            if outcome.artifacts:  # a failed script's output: its folder says why it failed
                self._write_artifacts(run, config, outcome)
            self.consecutive_failures += 1
            self.last_error = outcome.error
        fault_point("before-finish")  # the torture test kills here: the run is then run again
        if not self.store.finish(run.id, outcome.fields(), session=self.session):
            raise HotlapError(f"run {run.id} of sweep {self.sweep.id} was changed by another process")
        self.ran += 1
        key = (run.config_id, run.fidelity)
        if run.stage == "search":  # verification runs are analysed apart, never raced or told
            summary = self.summaries.get(key)
            if summary is None:
                summary = self.summaries[key] = ConfigSummary(
                    run.config_id, run.fidelity, config.params, config.is_baseline
                )
            if outcome.status == "done":
                summary.add(outcome.metrics)
            else:
                summary.failed += 1
        fault_point("after-finish")  # the torture test kills here: runs.jsonl is then repaired
        self._files.append(RUNS_FILE, to_json(runs_line(run, outcome.fields(), self.session)))
        if outcome.warmup_time is not None:
            self._log(
                f"[warmup] an untimed run on random labels took {outcome.warmup_time:.2f}s "
                "(a new training shape), excluded from all statistics"
            )
        self._log(self._describe(run, outcome))
        best = self._best_after(key) if run.stage == "search" else self._best
        if self._judges_target():
            if key in self._passed:  # its mean moved
                self._answer = self._current_answer()
            best = self._answer
        self.callbacks.run_end(run, outcome, best)

    def _best_after(self, key: tuple[str, str]) -> ConfigSummary | None:
        """The best config so far, kept up to date in O(1) per run: a full scan only when the
        current best itself got a new result (its mean may have dropped)."""
        candidate = self.summaries.get(key)
        if self._best is None or (self._best.config_id, self._best.fidelity) == key or candidate is None:
            self._best = best_config(self.summaries.values(), self.spec.primary, self.spec.constraints)
        else:
            self._best = best_config([self._best, candidate], self.spec.primary, self.spec.constraints)
        return self._best

    def _judges_target(self) -> bool:
        return self.spec.target is not None and self.spec.racing is not None

    def _current_answer(self) -> ConfigSummary | None:
        """The best of the configs that passed the target so far (None: none has yet)."""
        passed = [self.summaries[k] for k in self._passed if k in self.summaries]
        return best_config(passed, self.spec.primary, self.spec.constraints)

    def _describe(self, run: RunRecord, outcome: Outcome) -> str:
        where = f"config {run.config_id} seed {run.seed}" + (
            " (low fidelity)" if run.fidelity == "low" else ""
        )
        if outcome.source_run is not None:
            where += f" (on the network run {outcome.source_run} trained)"
        if outcome.status != "done":
            return f"{where} FAILED: {outcome.error}"
        shown = []
        for name, value in outcome.metrics.items():
            try:
                shown.append(f"{name} {self.spec.metric(name).format(value, unit=False)}")
            except HotlapError:
                shown.append(f"{name} {value:.4g}")
        return f"{where} done: {' '.join(shown)}"

    # --- files ---------------------------------------------------------------------------------

    def run_directory(self, config_id: str, seed: int, fidelity: str):  # type: ignore[no-untyped-def]
        return run_directory(self.directory, config_id, seed, fidelity)

    def _write_artifacts(self, run: RunRecord, config: ConfigRecord, outcome: Outcome) -> None:
        task = self._task(run, config)
        described = {
            "recipe": task.recipe,
            "dataset": task.dataset,
            "seed": run.seed,
            "fidelity": run.fidelity,
            "config_id": run.config_id,
            "params": config.params,
            "config": task.config,
            "session": self.session,
        }
        write_run(self.directory, run, config, described, outcome)

    def _copy_best(self, analysis: Analysis, best: ConfigReport) -> None:
        """The best run of the recommended config -> <sweep>/best/ (its config, metrics, weights)."""
        runs = self.store.runs(
            self.sweep.id, config_id=best.config_id, fidelity=best.fidelity, stage="search"
        )
        quality = analysis.quality
        summary = {
            "config_id": best.config_id,
            "fidelity": best.fidelity,
            "params": best.params,
            "n": best.n,
            "recommendation": analysis.recommendation.sentence,
            "mean": {m: s.mean for m, s in best.metrics.items()},
            "std": {m: s.std for m, s in best.metrics.items()},
        }
        copy_best(self.directory, runs, quality.name, quality.sign, summary)

    def _load(self) -> None:
        self.configs = {c.config_id: c for c in self.store.configs(self.sweep.id)}
        searched = self.store.runs(self.sweep.id, stage="search", details=False)
        self.summaries = summarize_configs(self.configs.values(), searched)
        self.excluded = self.store.excluded(self.sweep.id)
        decided = self.store.race_decisions(self.sweep.id)
        self._passed = {key for key, decision in decided.items() if decision == "pass"}
        self._answer = self._current_answer() if self._judges_target() else None
        self.sharing.add_configs(self.configs.values())
        if self._source_sweep is not None:
            source = {c.config_id: c for c in self.store.configs(self._source_sweep.id)}
            self.sharing.load(self.store, self._source_sweep, source, self._device)
        else:
            self.sharing.load(self.store, self.sweep, self.configs, self._device)

    def _planned_runs(self) -> int | None:
        """Runs the whole sweep will make at most (`hotlap plan` shows the same count)."""
        if self.spec.derived_from is not None:  # one per config and trained source run
            return self.sharing.planned(self.configs)
        return planned_runs(self.spec)

    def _log(self, message: str) -> None:
        self._files.log(message)
        self.callbacks.message(message)
