"""The engine's records: configs registered, runs queued and described as tasks, finished runs
written to the store and runs.jsonl (their folders: `run_files`), the live best, and the sweep's
state loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotlap.analysis.results import (
    ConfigSummary,
    best_config,
    summarize_configs,
)
from hotlap.callbacks.base import Message, RunEnded
from hotlap.config import RecipeConfig, config_hash, older_form, resolve_config, stored_as
from hotlap.engine.exclusion import exclusion
from hotlap.engine.plan import planned_runs
from hotlap.engine.repair import RUNS_FILE, runs_line
from hotlap.engine.stage import Stage
from hotlap.errors import HotlapError, plain_text
from hotlap.executors import Outcome, Task
from hotlap.faults import fault_point
from hotlap.io import to_json
from hotlap.recipes import Recipe
from hotlap.store import ConfigRecord, RunRecord, SweepRecord

__all__ = ["Recording"]

CONFIG_ID_LENGTH = 10
# Outcomes that get a run folder (`run_folders: all`); any with artifacts gets one (a failed
# script's output says why it failed)
FOLDERED = ("done", "pruned")


class Recording:
    """The recording part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    def _register(self, params: dict[str, Any], *, origin: str, baseline: bool = False) -> ConfigRecord:
        overrides = self.spec.baseline_overrides() if baseline else self.spec.overrides_for(params)
        recipe = self.recipes[self.spec.recipe_of(params, baseline=baseline)]
        config = recipe.config(overrides)
        digest = config_hash(recipe.name, config)
        earlier = self.configs.get(digest[:CONFIG_ID_LENGTH]) or self._stored_before(
            recipe, config, params, baseline
        )
        if earlier is not None:
            return earlier
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

    def _stored_before(
        self, recipe: Recipe, config: RecipeConfig, params: dict[str, Any], baseline: bool
    ) -> ConfigRecord | None:
        """The stored config this one is, when the recipe's config has changed since it was stored
        (fields added, defaults changed: `hotlap.config.stored_as`) and its swept values are the
        same: its id stays, its runs are its runs, its stored values train. None where there is none."""
        values = config.model_dump()
        for earlier in self._older_configs().get(_params_key(params, baseline), ()):
            if self.recipe_of(earlier).name == recipe.name and stored_as(
                type(config), earlier.config, values
            ):
                return earlier
        return None

    def _older_configs(self) -> dict[str, list[ConfigRecord]]:
        """The stored configs an earlier form of their recipe's config resolved (`older_form`), by
        their swept values (found once: configs registered since have today's form)."""
        index: dict[str, list[ConfigRecord]] | None = getattr(self, "_older_index", None)
        if index is None:
            index = {}
            for record in self.configs.values():
                if older_form(self.recipe_of(record).config_cls, record.config):
                    index.setdefault(_params_key(record.params, record.is_baseline), []).append(record)
            self._older_index = index
        return index

    def _excludes(self, config: ConfigRecord, stage: Stage) -> bool:
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

    def _stage_runs(self, config_id: str, stage: Stage) -> list[RunRecord]:
        if self._stored is not None:  # a resumed session joining its stored configs
            return self._stored.get(config_id, [])
        return self.store.runs(
            self.sweep.id, config_id=config_id, fidelity=stage.fidelity, stage=stage.run_stage
        )

    def _runs_by_config(self, stage: Stage) -> dict[str, list[RunRecord]]:
        """The stage's stored runs (without their histories), by config: in one read (none where
        the store is as `_load` read it)."""
        runs = self._unchanged_runs()
        if runs is None:
            runs = self.store.runs(
                self.sweep.id, fidelity=stage.fidelity, stage=stage.run_stage, details=False
            )
        else:  # (store.runs' filters: a None is no filter)
            runs = [
                r for r in runs if stage.fidelity in (None, r.fidelity) and stage.run_stage in (None, r.stage)
            ]
        found: dict[str, list[RunRecord]] = {}
        for run in runs:
            found.setdefault(run.config_id, []).append(run)
        return found

    def _unchanged_runs(self) -> list[RunRecord] | None:
        """Every run of the sweep (without histories) as `_load` read it, where this driver has
        written no row since (its connection's change count; no other process writes the sweep
        while this one holds its lock); None otherwise. A resume that runs nothing reads its
        50,000 runs once, not three times."""
        changes = getattr(self.store.db, "total_changes", None)
        if changes is None or changes != self._loaded_at:
            self._loaded_runs = None  # stale for good: not held for the rest of a long sweep
        return self._loaded_runs

    def _enqueue(self, config: ConfigRecord, stage: Stage) -> bool:
        """Queue the config's allotted runs that still have to run; True if any were added. (A
        derived sweep's config runs on the seeds its source config has a trained run of.)"""
        allotted = stage.seeds.seeds_for(config.config_id)
        if self.spec.derived_from is not None:
            allotted = self.sharing.seeds_with_source(config.config_id, allotted, stage.fidelity)
        wanted = set(allotted)
        if self._stored is None or not wanted <= {r.seed for r in self._stage_runs(config.config_id, stage)}:
            self.store.ensure_runs(self.sweep.id, config.config_id, allotted, stage.fidelity, stage.run_stage)
            if self._stored is not None:  # it has new runs: read again
                self._stored[config.config_id] = self.store.runs(
                    self.sweep.id, config_id=config.config_id, fidelity=stage.fidelity, stage=stage.run_stage
                )
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
            keep_weights=bool(self.spec.keep_weights) or (self._shares and source is None),
            keep_artifacts=self.spec.keep_artifacts or (self._shares and source is None),
            source=source,
            costs=tuple(self.spec.costs),
            checkpoint=str(self._checkpoint_file(run)) if self.spec.checkpoint_every else None,
            checkpoint_every=self.spec.checkpoint_every,
            log_every=self._log_every(),
        )

    def _record(self, run: RunRecord, outcome: Outcome) -> None:
        config = self.configs[run.config_id]
        fields = outcome.fields()
        if outcome.artifacts or (self.spec.run_folders == "all" and outcome.status in FOLDERED):
            self._write_artifacts(run, config, outcome, fields)
        if outcome.status == "done":
            self.consecutive_failures = 0
        elif outcome.status != "pruned":  # pruned is not a failure: its folder keeps its epochs
            self.consecutive_failures += 1
            self.last_error = outcome.error
        fault_point("before-finish")  # the torture test kills here: the run is then run again
        if not self.store.finish(run.id, fields, session=self.session):
            raise HotlapError(f"run {run.id} of sweep {self.sweep.id} was changed by another process")
        self.ran += 1
        if self._spent is not None:  # the budget's running count, as Store.spent would read it
            self._spent = (self._spent[0] + 1, self._spent[1] + (outcome.wall_time or 0.0))
        key = (run.config_id, run.fidelity)
        if run.stage == "search":  # verification runs are analysed apart, never raced or told
            summary = self.summaries.get(key)
            if summary is None:
                summary = self.summaries[key] = ConfigSummary(
                    run.config_id, run.fidelity, config.params, config.is_baseline
                )
            if outcome.status == "done":
                summary.add(outcome.metrics)
            elif outcome.status == "pruned":
                summary.pruned += 1
            else:
                summary.failed += 1
        if self.spec.keep_weights == "best" and outcome.status == "done":
            self._keep_best_weights(run, outcome)
        if self.spec.checkpoint_every:  # the run has ended: its resumable state with it
            self._checkpoint_file(run).unlink(missing_ok=True)
        fault_point("after-finish")  # the torture test kills here: runs.jsonl is then repaired
        self._files.append(RUNS_FILE, to_json(runs_line(run, fields, self.session)))
        if outcome.warmup_time is not None:
            self._log(
                f"[warmup] an untimed run on random labels took {outcome.warmup_time:.2f}s "
                "(a new training shape), excluded from all statistics"
            )
        self._log(self._describe(run, outcome))

    def _announce(self, run: RunRecord, outcome: Outcome) -> None:
        """The run's end, to the callbacks, with the current answer once the run was judged in
        (its config's look, if it completed one, included)."""
        key = (run.config_id, run.fidelity)
        best = self._best_after(key) if run.stage == "search" else self._best
        if self._judges_target():
            if key in self._passed:  # its mean moved
                self._answer = self._current_answer()
            best = self._answer
        self.callbacks.run_end(RunEnded(run, outcome, best))

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
        """Whether the live display's answer is the decision rule's (a target): the configs that
        passed at their last look, never the best mean of them all."""
        return self.spec.target is not None

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
        if outcome.status == "pruned":
            return f"{where} {outcome.error}"
        if outcome.status != "done":
            return f"{where} FAILED: {outcome.error}"
        shown = []
        for name, value in outcome.metrics.items():
            try:
                shown.append(f"{name} {self.spec.metric(name).format(value, unit=False)}")
            except HotlapError:
                shown.append(f"{name} {value:.4g}")
        return f"{where} done: {' '.join(shown)}"

    def _log_every(self) -> int:
        """Epochs between logging evaluations: the spec's, else none but the last in a sweep (the
        final evaluation is what is judged), every epoch where the pruner reads them."""
        if self.spec.log_every is not None:
            return self.spec.log_every
        return 1 if self.spec.pruning is not None else 0

    def _checkpoint_file(self, run: RunRecord) -> Path:
        """Where a run's mid-run checkpoint lives (spec `checkpoint_every`): one file per run."""
        return self.directory / "checkpoints" / f"run-{run.id}.pt"

    def _load(self) -> None:
        self._loaded_at = getattr(self.store.db, "total_changes", None)
        self.configs = {c.config_id: c for c in self.store.configs(self.sweep.id)}
        self._loaded_runs = self.store.runs(self.sweep.id, details=False)
        searched = [r for r in self._loaded_runs if r.stage == "search"]
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

    def _finished_before(self, stored: SweepRecord | None, changed: bool) -> bool:
        """A sweep that finished, resumed as it was (`changed`: its spec, or runs this start
        re-queued or repaired): it has nothing to run."""
        return (
            stored is not None
            and stored.state == "done"
            and not changed
            and self.spec.derived_from is None
            and self.store.counts(self.sweep.id)["queued"] == 0
        )

    def _open(self, idle: bool) -> int:
        """The executor prepared (its data on the device) and the sweep read; the runs it finished
        before. `idle` (`_finished_before`): no data, and the configs, runs and exclusions only (no
        racing or strategy state, which only running more needs)."""
        if not idle:
            dataset = self.spec.preloaded_dataset(self.recipe.uses_data)
            self.executor.prepare(dataset, self.data_dir, self.spec.device)
        self.store.update_sweep(self.sweep.id, state="running", message=None)
        if not idle:
            self._load()
            self._start_pruning()
            return sum(s.n + s.failed for s in self.summaries.values())
        self._loaded_at = getattr(self.store.db, "total_changes", None)
        self.configs = {c.config_id: c for c in self.store.configs(self.sweep.id)}
        self._loaded_runs = self.store.runs(self.sweep.id, details=False)
        self.excluded = self.store.excluded(self.sweep.id)
        return sum(1 for r in self._loaded_runs if r.stage == "search" and r.status in ("done", "failed"))

    def _planned_runs(self) -> int | None:
        """Runs the whole sweep will make at most (`hotlap plan` shows the same count)."""
        if self.spec.derived_from is not None:  # one per config and trained source run
            return self.sharing.planned(self.configs)
        return planned_runs(self.spec)

    def _log(self, message: str) -> None:
        message = plain_text(message)  # a config value or a worker's message may carry escapes
        self._files.log(message)
        self.callbacks.message(Message(message))


def _params_key(params: dict[str, Any], baseline: bool) -> str:
    return json.dumps([params, baseline], sort_keys=True, default=str)
