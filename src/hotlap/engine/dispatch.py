"""The engine's dispatch loop: keeps the executor full from the stage's queue, the strategy and
racing's extensions, and stops on the budget or on consecutive failures."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from typing import Any

from hotlap import interrupts
from hotlap.analysis.results import (
    weighted_score,
)
from hotlap.callbacks.base import EpochEnded, RunStarted
from hotlap.engine.sharing import HOLD
from hotlap.engine.stage import Stage, Stop
from hotlap.errors import is_full_disk
from hotlap.executors import Outcome
from hotlap.faults import fault_point
from hotlap.spec.fields import SCORE
from hotlap.store import RunRecord
from hotlap.strategies import Strategy

__all__ = ["Dispatch"]

POLL_SECONDS = 1.0  # while runs are in flight, the executor is polled at least this often (epochs)


def _outcome(future: Future[Outcome], run: RunRecord) -> Outcome:
    """A finished future's outcome. One that raises fails its run, not the sweep, unless the disk is
    full: then the sweep stops (every run after would fail the same way), resumable."""
    try:
        return future.result()
    except Exception as exc:
        if is_full_disk(exc):
            raise
        return Outcome.failure(run.id, exc)


class Dispatch:
    """The dispatching part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    def _dispatch(self, stage: Stage, refill: Any, strategy: Strategy) -> None:
        """Keep the executor full: queued runs, then new configs and racing extensions."""
        sources = (
            (lambda: self._extend(stage, strategy), refill)
            if stage.depth_first
            else (refill, lambda: self._extend(stage, strategy))
        )
        inflight: dict[Future[Outcome], RunRecord] = {}
        stop: Stop | None = None
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
                self.callbacks.run_start(RunStarted(run, config.params, config.config))
                task = self._task(run, config, source)  # type: ignore[arg-type]
                if not self._submit(stage, strategy, run, task, inflight):
                    stop = self._failure_stop()
            if not inflight:
                break
            finished, _ = wait(inflight, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            interrupts.check()  # a Ctrl-C swallowed where it landed (a worker starting) stops here
            for event in self.executor.poll():  # remote workers' epochs; a worker lost, its run re-queued
                self._log(event)
            for future in finished:
                run = inflight.pop(future)
                self._running.pop(run.id, None)
                self._finished(stage, strategy, run, _outcome(future, run))
                if stop is None:
                    stop = self._failure_stop()
        if stop is not None:
            raise stop

    def _submit(
        self,
        stage: Stage,
        strategy: Strategy,
        run: RunRecord,
        task: Any,
        inflight: dict[Future[Outcome], RunRecord],
    ) -> bool:
        """Start `run` on the executor; False if the executor could not even start it (the run is
        failed; a full disk stops the sweep instead)."""
        self._running[run.id] = run
        if self.pruner is not None:
            self.pruner.start(run)
        try:
            inflight[self.executor.submit(task, self._epoch)] = run
        except Exception as exc:
            self._running.pop(run.id, None)
            if is_full_disk(exc):
                raise
            self._finished(stage, strategy, run, Outcome.failure(run.id, exc))
            return False
        return True

    def _finished(self, stage: Stage, strategy: Strategy, run: RunRecord, outcome: Outcome) -> None:
        outcome = self.sharing.check_device(run, outcome)
        if self.pruner is not None:
            seen = self.pruner.end(run.id, outcome.status)
            if outcome.status == "pruned":  # the epochs it had: kept in the store and its folder
                outcome = replace(outcome, history=seen)
            if warning := self.pruner.lacking(seen):
                self._log(warning)
        if self.spec.score and outcome.status == "done":  # the weighted sum, as one more metric
            score = weighted_score(self.spec.score, outcome.metrics)
            if score is not None:
                outcome = replace(outcome, metrics={**outcome.metrics, SCORE: score})
        self._record(run, outcome)
        released = self.sharing.ended(run, self.configs[run.config_id], outcome, self.directory)
        stage.queue.add_first(released)  # siblings held for its network: next
        if outcome.status == "pruned":
            self._close_pruned(stage, strategy, run.config_id, outcome.error or "pruned")
        if stage.seeds.finished(run.config_id):
            self._race(stage, strategy)
        self._announce(run, outcome)  # after its look: the answer it shows includes this run

    def _epoch(self, run_id: int, record: dict[str, Any]) -> None:
        """An epoch's record, while its run trains: to the callbacks."""
        run = self._running.get(run_id)
        if run is not None:
            self.callbacks.epoch(EpochEnded(run, record))
        fault_point("epoch")  # the checkpoint test kills here: the run resumes from its last one
        if self.pruner is not None:  # raises RunPruned into the run's training where it falls behind
            self.pruner.epoch(run_id, record)

    def _budget_stop(self) -> Stop | None:
        budget = self.spec.budget
        if budget.max_runs is None and budget.max_time is None:
            return None
        if self._spent is None:  # read once; then counted as runs finish (Recording._record)
            self._spent = self.store.spent(self.sweep.id)
        runs, seconds = self._spent
        resume = f"; to go on, raise it: hotlap resume {self.sweep.id} budget.{{}}=..."
        if budget.max_runs is not None and runs >= budget.max_runs:
            why = f"budget reached: {runs} runs (max_runs {budget.max_runs})"
            return Stop("stopped", why + resume.format("max_runs"))
        if budget.max_time is not None and seconds >= budget.max_time:
            why = f"budget reached: {seconds:.0f} s of runs (max_time {budget.max_time:g})"
            return Stop("stopped", why + resume.format("max_time"))
        return None

    def _failure_stop(self) -> Stop | None:
        limit = self.spec.max_consecutive_failures
        if self.consecutive_failures < limit:
            return None
        return Stop(
            "failed",
            f"stopped after {self.consecutive_failures} consecutive failed runs (last: {self.last_error}); "
            f"fix the cause, then: hotlap resume {self.sweep.id} --retry-failed",
        )
