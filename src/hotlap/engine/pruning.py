"""Per-epoch pruning across configs (spec `pruning`): each config's first run of the search (its
scout) is a trial of an in-memory Optuna study, its epoch records reported as the trial's
intermediate values, and Optuna's pruner (SuccessiveHalving for `asha`, Median, Hyperband) says
when it falls behind the other configs' scouts at the same epoch. The scout then stops where it is
(the executor records it `pruned`, never failed) and its config is closed: its other seeds never
run, and it is never judged or recommended. A config whose scout goes on runs all its seeds to
their end, none of them pruned: a config is judged on whole runs only, never on the seeds that
happened to survive a cut (a pruned seed of a kept config would leave the lucky ones: a biased
sample).

A resumed sweep replays its finished scouts' histories into a new study, so the pruner decides as
it would have without the interruption.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from hotlap.errors import RunPruned
from hotlap.spec.fields import PruningSpec
from hotlap.store import RunRecord

__all__ = ["EpochPruner"]


class EpochPruner:
    """One study per fidelity of the search (epochs of a low-fidelity run are not a full run's)."""

    def __init__(self, spec: PruningSpec, direction: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.spec, self.direction = spec, direction
        self._optuna = optuna
        self._studies: dict[str, Any] = {}
        self._trials: dict[int, Any] = {}  # run id -> its trial, while it runs
        self._steps: dict[int, int] = {}  # run id -> epochs reported (where a record has no `epoch`)
        self._seen: dict[int, list[dict[str, Any]]] = {}  # run id -> its epoch records so far
        self._scouted: set[tuple[str, str]] = set()  # (config, fidelity) whose scout has started
        self.warned = False  # said once that the runs' epoch records lack the metric

    def _pruner(self) -> Any:
        pruners, spec = self._optuna.pruners, self.spec
        if spec.rule == "median":
            return pruners.MedianPruner(
                n_startup_trials=spec.startup_runs, n_warmup_steps=spec.min_epochs - 1
            )
        if spec.rule == "hyperband":
            return pruners.HyperbandPruner(
                min_resource=spec.min_epochs,
                max_resource=spec.max_epochs if spec.max_epochs is not None else "auto",
                reduction_factor=spec.reduction_factor,
            )
        return pruners.SuccessiveHalvingPruner(
            min_resource=spec.min_epochs, reduction_factor=spec.reduction_factor
        )

    def _study(self, fidelity: str) -> Any:
        if fidelity not in self._studies:
            self._studies[fidelity] = self._optuna.create_study(
                direction=self.direction,
                pruner=self._pruner(),
                sampler=self._optuna.samplers.RandomSampler(seed=0),  # (no parameter is sampled)
            )
        return self._studies[fidelity]

    def replay(self, runs: Iterable[RunRecord]) -> None:
        """Finished search runs of earlier sessions (with their histories), in the order they ran."""
        state = self._optuna.trial.TrialState
        for run in sorted(runs, key=lambda r: (r.ended or "", r.id)):
            key = (run.config_id, run.fidelity)
            if (
                run.stage != "search"
                or run.status not in ("done", "pruned", "failed")
                or key in self._scouted
            ):
                continue
            self._scouted.add(key)  # (its first run to end: its scout)
            study = self._study(run.fidelity)
            trial = study.ask()
            last = None
            for step, value in self._values((run.details or {}).get("history") or []):
                trial.report(value, step)
                last = value
            if run.status == "done" and last is not None:
                study.tell(trial, last)
            else:
                study.tell(trial, state=state.PRUNED if run.status == "pruned" else state.FAIL)

    def start(self, run: RunRecord) -> None:
        """A run starts: the config's scout (its first search run) becomes a trial; any other run
        is never judged."""
        key = (run.config_id, run.fidelity)
        if run.stage == "search" and key not in self._scouted:
            self._scouted.add(key)
            self._trials[run.id] = self._study(run.fidelity).ask()
            self._seen[run.id] = []

    def epoch(self, run_id: int, record: Mapping[str, Any]) -> None:
        """Report an epoch of a running search run; raises RunPruned where the pruner says so."""
        trial = self._trials.get(run_id)
        if trial is None:
            return
        self._seen[run_id].append(dict(record))
        self._steps[run_id] = self._steps.get(run_id, 0) + 1
        step, value = _step(record, self._steps[run_id]), _number(record.get(self.spec.metric))
        if value is None:
            return
        trial.report(value, step)
        if trial.should_prune():
            raise RunPruned(
                f"pruned at epoch {step} ({self.spec.rule}): {self.spec.metric} {value:.4g} fell behind the "
                "other configs' first runs at that epoch",
                step,
            )

    def end(self, run_id: int, status: str) -> list[dict[str, Any]]:
        """The run ended (done, failed, pruned): its trial is told; returns the epochs it reported."""
        trial = self._trials.pop(run_id, None)
        self._steps.pop(run_id, None)
        seen = self._seen.pop(run_id, [])
        if trial is None:
            return seen
        state = self._optuna.trial.TrialState
        values = [v for _, v in self._values(seen)]
        study = trial.study
        if status == "done" and values:
            study.tell(trial, values[-1])
        else:
            study.tell(trial, state=state.PRUNED if status == "pruned" else state.FAIL)
        return seen

    def lacking(self, seen: list[dict[str, Any]]) -> str | None:
        """A warning, once, where a scout's epoch records never had the metric (a typo in
        `pruning.metric`, or a recipe that reports another name): then nothing is ever pruned."""
        if self.warned or not seen or self._values(seen):
            return None
        self.warned = True
        keys = sorted({k for record in seen for k in record})
        return (
            f"warning: pruning.metric {self.spec.metric!r} is in none of the epoch records of a run "
            f"(they have: {', '.join(keys)}): nothing is pruned until it is"
        )

    def _values(self, history: list[dict[str, Any]]) -> list[tuple[int, float]]:
        out = []
        for index, record in enumerate(history, start=1):
            value = _number(record.get(self.spec.metric))
            if value is not None:
                out.append((_step(record, index), value))
        return out


def _step(record: Mapping[str, Any], count: int) -> int:
    """The record's epoch as Optuna's step (whole epochs), or how many records came so far."""
    epoch = _number(record.get("epoch"))
    return round(epoch) if epoch is not None else count


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class Pruning:
    """The pruning part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    pruner: EpochPruner | None = None

    def _start_pruning(self) -> None:
        """The pruner of this session, its studies replayed from the finished search runs."""
        spec = self.spec.pruning
        if spec is None or self.spec.derived_from is not None:
            self.pruner = None
            return
        declared = next((m.direction for m in self.spec.metrics or [] if m.name == spec.metric), None)
        self.pruner = EpochPruner(spec, spec.judged_direction(declared))
        self.pruner.replay(self.store.runs(self.sweep.id, stage="search"))

    def _pruned_earlier(self, config_id: str, stage: Any) -> bool:
        """A config one of whose runs the pruner stopped in an earlier session: closed again (the
        seeds it had queued are dropped), never run on."""
        summary = self.summaries.get((config_id, stage.fidelity))
        if self.pruner is None or stage.run_stage != "search" or summary is None or not summary.pruned:
            return False
        self.store.drop_queued(self.sweep.id, config_id, stage.fidelity, stage.run_stage)
        stage.seeds.mark_closed(config_id)
        return True

    def _close_pruned(self, stage: Any, strategy: Any, config_id: str, reason: str) -> None:
        """One of the config's runs was pruned: its queued seeds are dropped (in the queue and the
        store) and its race closed with that reason."""
        dropped = stage.queue.drop(config_id)
        self.store.drop_queued(self.sweep.id, config_id, stage.fidelity, stage.run_stage)
        stage.seeds.mark_closed(config_id)
        for _ in dropped:  # (the pruned run itself is counted finished by the caller)
            stage.seeds.finished(config_id)
        self._close(config_id, stage, strategy, None, pruned=reason)
        self._log(f"config {config_id} closed: {reason} ({len(dropped)} queued seed(s) dropped)")
