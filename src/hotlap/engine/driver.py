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
from typing import Any

from hotlap import interrupts
from hotlap.analysis.configs import Analysis, analyze
from hotlap.analysis.judging import Guarantee
from hotlap.analysis.results import (
    ConfigSummary,
    SweepResult,
)
from hotlap.callbacks import Callback, Callbacks, SweepInfo
from hotlap.callbacks.base import StageStarted, SweepEnded
from hotlap.engine.artifacts import write_run_summary
from hotlap.engine.dispatch import Dispatch
from hotlap.engine.mix import evaluation_share
from hotlap.engine.pruning import Pruning
from hotlap.engine.queue import RunQueue
from hotlap.engine.racing import Racing
from hotlap.engine.recording import Recording
from hotlap.engine.repair import mark_clean, repair_files
from hotlap.engine.run_files import RunFiles
from hotlap.engine.scheduler import SeedScheduler
from hotlap.engine.session import SessionFiles, open_session, sweep_lock
from hotlap.engine.sharing import SharedTraining, shares_training
from hotlap.engine.stage import Silent, Stage, Stop
from hotlap.engine.verifying import Verifying
from hotlap.executors import Executor
from hotlap.recipes import get_recipe
from hotlap.spec.validate import stored_spec
from hotlap.store import ConfigRecord, RunRecord, Store, SweepRecord
from hotlap.strategies import Proposal, Strategy, get_strategy, is_finite

__all__ = ["Engine", "SweepResult"]

# A grid's or brute force's configs join in rounds of this many, their runs taken in random order
# (drift spreads over them); registering a config costs about 1-2 ms, so a round starts within 2 s.
ROUND_CONFIGS = 1000


class Engine(Racing, Verifying, Pruning, Dispatch, Recording, RunFiles):
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
        self._spent: tuple[int, float] | None = None  # finished runs and seconds: the budget's count
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
        # Without racing: the configs whose every seed finished, per fidelity (judged together).
        self._complete: dict[str, dict[str, None]] = {}
        self._judged_at = 0.0
        self._files = SessionFiles(self.directory)
        self._running: dict[int, RunRecord] = {}
        self._level: Guarantee | None = None  # the levels each look is made at
        # A stage's stored runs by config, read once while a resumed session joins its configs
        self._stored: dict[str, list[RunRecord]] | None = None
        # Every run as `_load` read it, and the store connection's change count then (_unchanged_runs)
        self._loaded_runs: list[RunRecord] | None = None
        self._loaded_at: int | None = None
        self._source_sweep: SweepRecord | None = None  # what a derived sweep evaluates
        self._device: str | None = None
        self.excluded: dict[str, str] = {}  # config id -> the per-config bound it breaks (never run)
        # keep_weights: best: each (config, fidelity, stage)'s best seed so far (value, its folder)
        self._best_weights: dict[tuple[str, str, str], tuple[float, Any] | None] = {}
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
            changed = stored is not None and stored.spec != self.sweep.spec
            if changed:
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
            idle = self._finished_before(stored, changed or bool(repaired or stale or retried))
            finished = self._open(idle)
            self.callbacks.sweep_start(
                SweepInfo(
                    self.sweep,
                    self.spec,
                    self.store.workdir,
                    self._planned_runs(),
                    finished,
                    evaluation_share(self.spec),
                )
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
                state, message = ("done", self._done_message()) if idle else self._drive()
            except KeyboardInterrupt:
                interrupts.reset()  # taken: the sweep stops here
                self.store.requeue(self.sweep.id, statuses=("running",))
                self._finish("stopped", f"interrupted; resume with: hotlap resume {self.sweep.id}")
                raise
            result = self._finish(state, message)
            self._files.close()
            mark_clean(self.directory)  # (not after an interrupt: it may have cut a write short)
            return result

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
        except Stop as stop:
            return stop.state, stop.message
        return "done", self._done_message()

    def _done_message(self) -> str:
        done = self.store.counts(self.sweep.id)
        pruned = f", {done['pruned']:,} pruned" if done.get("pruned") else ""
        return f"{done['done']:,} runs done, {done['failed']:,} failed{pruned}"

    def _analysis(self) -> Analysis:
        runs = self._unchanged_runs()  # (a resume with nothing to run: the configs and runs it read)
        return analyze(
            self.spec,
            list(self.configs.values()) if runs is not None else self.store.configs(self.sweep.id),
            runs if runs is not None else self.store.runs(self.sweep.id, details=False),
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
        if self.spec.keep_weights == "best" and self._shares and state == "done":
            self._best_weights_only()  # (the evaluations that read every source's weights are done)
        self.store.update_sweep(self.sweep.id, state=state, message=message)
        if (self.directory / "config.json").is_file():  # a `hotlap run`'s folder: its summary.json
            runs = self.store.runs(self.sweep.id, details=False)
            interrupted = message.startswith("interrupted")
            write_run_summary(
                self.directory, self.sweep.id, runs, self.spec.metric_defs(), interrupted=interrupted
            )
        self._log(f"sweep {state}: {message}")
        if analysis.configs:
            self._log(analysis.recommendation.sentence)
        sweep = self.store.sweep(self.sweep.id)
        assert sweep is not None
        result = SweepResult(sweep, state, message, analysis.best, self.ran, analysis)
        self.callbacks.sweep_end(SweepEnded(result))
        return result

    # --- stages --------------------------------------------------------------------------------

    def _stage(
        self, name: str, fidelity: str, seeds: list[int] | None = None, run_stage: str = "search"
    ) -> Stage:
        finite = is_finite(self.spec.strategy.name)
        racing = self.spec.racing if run_stage == "search" else None
        recorded = self.store.closed_races(self.sweep.id, fidelity, run_stage) if racing else {}
        scheduler = SeedScheduler(seeds or list(self.spec.seeds), racing, recorded)
        # The same order on a rerun; verification's runs are paired seed by seed, back to back.
        queue = RunQueue(f"{self.sweep.id}/{self.session}/{name}", paired=run_stage == "verify")
        return Stage(name, fidelity, scheduler, depth_first=not finite, run_stage=run_stage, queue=queue)

    def _search(self, fidelity: str) -> None:
        """Propose configs with the strategy and run each on its seeds (racing: as long as it must)."""
        strategy = get_strategy(self.spec)
        stage = self._stage("search", fidelity)
        self.callbacks.stage(StageStarted("search", fidelity))
        finite = is_finite(self.spec.strategy.name)
        trials = None if finite else self.spec.strategy.trials
        asked = self.sweep.trials_asked
        self._stored = self._runs_by_config(stage)  # one read, not one per config
        try:
            # The configs' known results are told only to a strategy that keeps them (a sampler
            # that will still propose: Optuna takes 10 s to add 50,000 trials; a grid keeps none).
            restores = (trials is None or asked < trials) and type(strategy).restore is not Strategy.restore
            history = self._earlier_configs(stage, history=restores)
            if restores:
                strategy.restore(history)
            if self.spec.baseline is not None:
                self._join(self._register({}, origin="baseline", baseline=True), stage)
            self._race(stage, strategy)  # configs of an earlier session that are ready to be judged
        finally:
            self._stored = None  # runs change from here on: read as they are

        def refill() -> bool:
            """Ask the strategy for new configs with runs to do: one (a sequential sampler waits
            for its results), or a round of up to ROUND_CONFIGS (a grid or brute force: their runs
            are taken in random order); False when it has nothing more."""
            nonlocal asked
            joined = 0
            stage.seeds.new_round()
            while trials is None or asked < trials:
                proposal = strategy.ask()
                if proposal is None:
                    break
                if not finite:
                    asked += 1
                    self.store.update_sweep(self.sweep.id, trials_asked=asked)
                if self._propose(stage, strategy, proposal, tell=not finite):
                    joined += 1
                    if stage.queue and (stage.depth_first or joined >= ROUND_CONFIGS):
                        return True
            return bool(stage.queue)

        self._dispatch(stage, refill, strategy)

    def _earlier_configs(
        self, stage: Stage, *, history: bool = True
    ) -> list[tuple[dict[str, Any], Any, Any]]:
        """Join the configs an earlier session proposed; the strategy's history (`history`: made,
        else empty): those whose result is known (finished, or excluded before running). The
        others are told when their race closes."""
        known: list[tuple[dict[str, Any], Any, Any]] = []
        for config in list(self.configs.values()):
            if config.origin == "baseline":
                continue
            if config.config_id in self.excluded:  # breaks a per-config bound: never runs
                stage.seeds.mark_closed(config.config_id)
                if history:
                    known.append((config.params, None, None))
                continue
            self._join(config, stage)
            seeds = stage.seeds
            if config.config_id in seeds.closed or (
                seeds.racing is None and seeds.remaining[config.config_id] == 0
            ):
                seeds.mark_closed(config.config_id)  # finished in an earlier session
                if history:
                    known.append((config.params, *self._told(config.config_id, stage)))
            else:
                stage.pending[config.config_id] = [None]  # told when its race closes
        return known

    def _propose(self, stage: Stage, strategy: Strategy, proposal: Proposal, *, tell: bool) -> bool:
        """Register a proposed config and join it to the stage; False where it has nothing new to
        run (a repeated proposal, told its known result; one still racing; one excluded before
        it runs). `tell`: a sampler hears about each of those."""
        config = self._register(proposal.params, origin=self.spec.strategy.name)
        config_id = config.config_id
        if config_id in stage.seeds.closed:  # its result is known: a repeated proposal
            if tell:
                strategy.tell(proposal, *self._told(config_id, stage))
            return False
        if stage.seeds.joined(config_id):  # still running or racing
            if tell:
                stage.pending[config_id].append(proposal)
            return False
        if self._excludes(config, stage):  # known to break a bound before it runs
            if tell:
                strategy.tell(proposal, None)
            return False
        stage.pending[config_id] = [proposal]
        self._join(config, stage)
        self._race(stage, strategy)  # one whose runs all finished in an earlier session
        return True

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
        self.callbacks.stage(StageStarted("promote", "full"))
        self._log(
            f"promoting {len(chosen)} config(s) to full fidelity: {', '.join(c.config_id for c in chosen)}"
        )
        if self.spec.baseline is not None:
            self._join(self._register({}, origin="baseline", baseline=True), stage)
        for config in chosen:
            self._join(config, stage)
        silent = Silent(self.spec)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)

    def _evaluate_derived(self) -> None:
        """A derived sweep: every config evaluated on each trained network of its source config."""
        stage = self._stage("search", "full")
        self.callbacks.stage(StageStarted("search", "full"))
        for config in self.configs.values():
            self._join(config, stage)
        silent = Silent(self.spec)
        self._race(stage, silent)
        self._dispatch(stage, lambda: False, silent)
