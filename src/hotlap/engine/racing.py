"""The engine's racing: configs join a stage, are judged at each look, and their races close
(telling the strategy what each config reached)."""

from __future__ import annotations

import functools
import time

from hotlap.analysis.judging import Guarantee, guarantee, make_target, verdicts
from hotlap.analysis.results import (
    strategy_feedback,
)
from hotlap.decisions import Verdict
from hotlap.engine.stage import Stage
from hotlap.rules import Target
from hotlap.store import ConfigRecord
from hotlap.strategies import Strategy

__all__ = ["Racing"]

COMPLETE_JUDGED = 200  # complete configs judged together on every completion; more: once a second


class Racing:
    """The racing part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    def _join(self, config: ConfigRecord, stage: Stage) -> None:
        """Add a config to a stage with its first seeds (more after a resume), and queue its runs."""
        if stage.seeds.joined(config.config_id):
            return
        existing = (
            {r.seed for r in self._stage_runs(config.config_id, stage)} if stage.seeds.racing else set()
        )
        stage.seeds.join(config.config_id, existing, reference=config.is_baseline)
        stage.pending.setdefault(config.config_id, [])
        if self._pruned_earlier(config.config_id, stage):
            return
        self._enqueue(config, stage)

    def _race(self, stage: Stage, strategy: Strategy, *, waiting: bool = False) -> None:
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

    def _close(
        self,
        config_id: str,
        stage: Stage,
        strategy: Strategy,
        verdict: Verdict | None,
        *,
        pruned: str | None = None,
    ) -> None:
        """Close a config's race: the strategy hears what it reached; with racing, the store keeps
        the decision (`pruned`: why the pruner closed it, never judged)."""
        values, constraint = self._told(config_id, stage)
        for proposal in stage.pending.pop(config_id, []):
            if proposal is None:
                strategy.restore([(self.configs[config_id].params, values, constraint)])
            else:
                strategy.tell(proposal, values, constraint)
        if stage.seeds.racing is not None:
            seeds = stage.seeds.allotted[config_id]
            decision = verdict.decision if verdict else ("pruned" if pruned else None)
            reason = verdict.reason if verdict else (pruned or "no finished run")
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
        elif stage.run_stage == "search" and self._judges_target() and not pruned:
            self._complete.setdefault(stage.fidelity, {})[config_id] = None  # every seed finished
            self._judge_complete(stage.fidelity)

    def _judge_complete(self, fidelity: str) -> None:
        """Without racing, a config is judged once all its seeds have finished (its one planned
        look), with every other complete config, as the analysis judges them: the configs that
        pass are the live display's current answer, the same `hotlap status` gives. Judged again
        at most once a second past COMPLETE_JUDGED configs (each judgment looks at all of them)."""
        complete = self._complete[fidelity]
        now = time.monotonic()
        if len(complete) > COMPLETE_JUDGED and now - self._judged_at < 1.0:
            return
        self._judged_at = now
        values = {
            c: self.summaries[(c, fidelity)].values
            for c in complete
            if (c, fidelity) in self.summaries and self.summaries[(c, fidelity)].n > 0
        }
        level = self._guarantee()
        judged = verdicts(self.spec, values, level.look_alpha, level.time_alpha)
        self._passed = {k for k in self._passed if k[1] != fidelity} | {
            (c, fidelity) for c, verdict in judged.items() if verdict.decision == "pass"
        }
        self._answer = self._current_answer()

    def _extend(self, stage: Stage, strategy: Strategy) -> bool:
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

    def _told(self, config_id: str, stage: Stage) -> tuple[list[float] | None, float | None]:
        summary = self.summaries.get((config_id, stage.fidelity))
        if summary is not None and summary.pruned:  # its finished seeds are the lucky ones: no result
            return None, None
        reference = None
        if self.spec.target is not None and self.spec.target.within is not None:  # relative to the baseline
            baseline = next((c for c in self.configs.values() if c.is_baseline), None)
            reference = self.summaries.get((baseline.config_id, stage.fidelity)) if baseline else None
        summary = self.summaries.get((config_id, stage.fidelity))
        return strategy_feedback(summary, self.spec, reference, target=self._target)

    @functools.cached_property
    def _target(self) -> Target | None:
        """The spec's target as the decision rules take it (made once: a resume tells every config)."""
        return make_target(self.spec)
