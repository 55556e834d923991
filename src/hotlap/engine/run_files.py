"""The engine's files per run: each finished run's folder (`run_folders`), `keep_weights: best`
(a config's best seed keeps its weights) and `<sweep>/best/`, the recommended config's best run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.judging import decision_metrics
from hotlap.analysis.reports import ConfigReport
from hotlap.engine.artifacts import copy_best, run_directory, write_run
from hotlap.executors import Outcome
from hotlap.metrics import Metric
from hotlap.store import ConfigRecord, RunRecord

__all__ = ["RunFiles"]


class RunFiles:
    """The run-files part of `hotlap.engine.driver.Engine` (a mixin: the engine holds the state)."""

    def _keep_best_weights(self, run: RunRecord, outcome: Outcome) -> None:
        """`keep_weights: best`: a config (at a fidelity and stage) keeps `model.pt` for its best
        seed so far by the quality metric; a seed's is deleted once another of the config is better.
        (Where configs share trainings, their evaluations read every source's weights: then once
        the sweep is done, `_best_weights_only`.)"""
        if self._shares:
            return
        quality = decision_metrics(self.spec).quality
        value = outcome.metrics.get(quality.name)
        key = (run.config_id, run.fidelity, run.stage)
        folder = self.run_directory(run.config_id, run.seed, run.fidelity)
        best = self._best_weights.get(key)
        if best is None and value is not None:
            best = self._best_weights[key] = self._stored_best(key, quality, run.id)
        if value is None or (best is not None and quality.sign * value <= quality.sign * best[0]):
            (folder / "model.pt").unlink(missing_ok=True)
            return
        if best is not None:
            (best[1] / "model.pt").unlink(missing_ok=True)
        self._best_weights[key] = (value, folder)

    def _stored_best(self, key: tuple[str, str, str], quality: Metric, now: int) -> tuple[float, Path] | None:
        """The config's best earlier seed (an earlier session's; not run `now`), from the store."""
        config_id, fidelity, stage = key
        done = [
            r
            for r in self.store.runs(
                self.sweep.id, config_id=config_id, fidelity=fidelity, stage=stage, details=False
            )
            if r.status == "done" and r.values.get(quality.name) is not None and r.id != now
        ]
        if not done:
            return None
        top = max(done, key=lambda r: quality.sign * r.values[quality.name])
        return top.values[quality.name], self.run_directory(config_id, top.seed, fidelity)

    def _best_weights_only(self) -> None:
        """`keep_weights: best` at a sweep's end: every config's seeds but its best lose `model.pt`."""
        quality = decision_metrics(self.spec).quality
        groups: dict[tuple[str, str, str], list[RunRecord]] = {}
        for run in self.store.runs(self.sweep.id, details=False):
            if run.status == "done" and run.values.get(quality.name) is not None:
                groups.setdefault((run.config_id, run.fidelity, run.stage), []).append(run)
        for runs in groups.values():
            top = max(runs, key=lambda r: quality.sign * r.values[quality.name])
            for run in runs:
                if run is not top:
                    (self.run_directory(run.config_id, run.seed, run.fidelity) / "model.pt").unlink(
                        missing_ok=True
                    )

    def run_directory(self, config_id: str, seed: int, fidelity: str):  # type: ignore[no-untyped-def]
        return run_directory(self.directory, config_id, seed, fidelity)

    def _write_artifacts(
        self, run: RunRecord, config: ConfigRecord, outcome: Outcome, fields: dict[str, Any]
    ) -> None:
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
        write_run(self.directory, run, described, outcome, fields)

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
