"""Shared training: configs that differ only in the recipe's evaluation-only fields (airbench's TTA
weighting) train one network per seed.

The first of them to reach a (seed, fidelity) trains it: it is the *source*. A sibling that comes
while the source trains is *held*, and goes back to the queue when the source ends; once the source
is done, siblings are *evaluated* on its network (the recipe's `evaluate`, from the source's stored
weights or logits), each recorded once as a run of its own config, with the source's training
times and a pointer to it. A source that fails releases its siblings, and one of them trains. A
derived sweep (`hotlap eval`) consists of evaluations only, on another sweep's trained runs.

Bookkeeping only: the engine claims, dispatches and records; this module decides which run trains,
which waits, and which is evaluated on what.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any

from hotlap.devices import same_device
from hotlap.engine.artifacts import run_directory
from hotlap.executors import Outcome
from hotlap.recipes import Recipe
from hotlap.spec.schema import SweepSpec
from hotlap.store import ConfigRecord, RunRecord, Store, SweepRecord

__all__ = ["HOLD", "SharedTraining", "shares_training"]

HOLD = object()  # the run waits for a sibling that trains its network now
Key = tuple[str, int, str]  # (training key, seed, fidelity): one trained network
TaskConfig = Callable[[RunRecord, ConfigRecord], dict[str, Any]]  # the config a run trains with


def shares_training(spec: SweepSpec, recipe: Recipe) -> bool:
    """Whether the sweep varies an evaluation-only field of its recipe (so configs share training)."""
    touched = {
        *spec.space,
        *(spec.baseline or {}),
        *(key for overrides in spec.variants.values() for key in overrides),
    }
    fields = {recipe.config_cls.field_of(key) for key in touched}  # quant.conv.weight_bits: quant
    return recipe.evaluate is not None and bool(recipe.eval_fields & fields)


class SharedTraining:
    """Who trains, who waits, and who is evaluated on what, for one driving session.

    `active`: the sweep shares training (or is derived). `task_config(run, config)` gives the
    config a run trains with (its low-fidelity version where it has one).
    """

    def __init__(
        self,
        recipe_of: Callable[[ConfigRecord], Recipe],
        *,
        active: bool,
        derived: bool,
        task_config: TaskConfig,
    ) -> None:
        self.recipe_of = recipe_of
        self.active = active or derived
        self.derived = derived
        self.task_config = task_config
        self.keys: dict[str, str | None] = {}
        self.sources: dict[Key, dict[str, Any]] = {}
        self.training: dict[Key, int] = {}
        self.held: dict[Key, list[RunRecord]] = {}

    def add_configs(self, configs: Iterable[ConfigRecord]) -> None:
        if self.active:
            for config in configs:
                self.keys[config.config_id] = self.recipe_of(config).training_key(config.config)

    def key(self, run: RunRecord) -> Key | None:
        key = self.keys.get(run.config_id) if self.active else None
        return None if key is None else (key, run.seed, run.fidelity)

    def source_for(self, run: RunRecord) -> dict[str, Any] | object | None:
        """The trained run to evaluate `run` on; None: `run` trains (the source of its siblings);
        HOLD: a sibling trains that network now, and `run` waits for it."""
        key = self.key(run)
        if key is None:
            return None
        source = self.sources.get(key)
        if source is not None:
            return source
        holder = self.training.get(key)
        if holder is not None and holder != run.id:
            self.held.setdefault(key, []).append(run)
            return HOLD
        self.training[key] = run.id
        return None

    def ended(
        self, run: RunRecord, config: ConfigRecord, outcome: Outcome | None, directory: Any
    ) -> list[RunRecord]:
        """A run ended (or was never started: `outcome` None). Where it trained a shared network,
        done, it becomes its siblings' source; returns the siblings held for it."""
        key = self.key(run)
        if key is None or self.training.get(key) != run.id:
            return []
        del self.training[key]
        if outcome is not None and outcome.status == "done":
            self.sources[key] = self.record(
                run, config, directory, outcome.metrics, outcome.history, outcome.device
            )
        return self.held.pop(key, [])

    def record(
        self,
        run: RunRecord,
        config: ConfigRecord,
        directory: Any,
        metrics: dict[str, float],
        history: list[dict[str, Any]],
        device: str | None,
    ) -> dict[str, Any]:
        """A source as a task carries it (plain data)."""
        folder = run_directory(directory, run.config_id, run.seed, run.fidelity)
        return {
            "run_id": run.id,
            "directory": str(folder),
            "config": self.task_config(run, config),
            "metrics": dict(metrics),
            "history": history,
            "device": device,
        }

    def load(
        self, store: Store, sweep: SweepRecord, configs: dict[str, ConfigRecord], device: str | None
    ) -> None:
        """The trained runs siblings can be evaluated on: this sweep's own (those on this session's
        device: a sibling's evaluation is timed here), or for a derived sweep its source sweep's
        (`sweep`, `configs`: the source's) trained full-fidelity search runs."""
        if not self.active:
            return
        keys = {cid: self.recipe_of(c).training_key(c.config) for cid, c in configs.items()}
        where = {"stage": "search", "fidelity": "full"} if self.derived else {}
        for run in store.runs(sweep.id, status="done", **where):  # type: ignore[arg-type]
            details = run.details or {}
            key = keys.get(run.config_id)
            if key is None or details.get("source_run") is not None:
                continue  # an evaluation: it trained nothing
            if not self.derived and run.device != device:
                continue
            if not run_directory(sweep.directory, run.config_id, run.seed, run.fidelity).is_dir():
                continue
            self.sources.setdefault(
                (key, run.seed, run.fidelity),
                self.record(
                    run,
                    configs[run.config_id],
                    sweep.directory,
                    run.values,
                    details.get("history") or [],
                    run.device,
                ),
            )

    def seeds_with_source(self, config_id: str, seeds: list[int], fidelity: str) -> list[int]:
        key = self.keys.get(config_id)
        return [seed for seed in seeds if (key, seed, fidelity) in self.sources]

    def planned(self, config_ids: Iterable[str]) -> int:
        """Evaluations a derived sweep makes: one per config and trained source run."""
        per_key = collections.Counter(key for key, _, _ in self.sources)
        return sum(per_key[k] for c in config_ids if (k := self.keys.get(c)) is not None)

    def check_device(self, run: RunRecord, outcome: Outcome) -> Outcome:
        """An evaluation timed on another device than its source trained on fails: one run's times
        would come from two devices."""
        if outcome.status != "done" or outcome.source_run is None:
            return outcome
        key = self.key(run)
        source = self.sources.get(key) if key is not None else None
        trained_on = source.get("device") if source is not None else None
        if trained_on is None or same_device(outcome.device or "", trained_on):
            return outcome
        error = (
            f"RunFailed: evaluated on {outcome.device} the network trained on {trained_on}: one run's "
            f"times would mix two devices; evaluate on {trained_on}"
        )
        return Outcome(
            run_id=outcome.run_id,
            status="failed",
            error=error,
            device=outcome.device,
            host=outcome.host,
            started=outcome.started,
            ended=outcome.ended,
            wall_time=outcome.wall_time,
            source_run=outcome.source_run,
        )
