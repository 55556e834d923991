"""`mlflow`: a parent MLflow run per sweep, a nested run per (config, seed) (extra `hotlap[mlflow]`).

The tracking URI is `$MLFLOW_TRACKING_URI`, by default `sqlite:///<workdir>/mlflow.db`; the
experiment is `$MLFLOW_EXPERIMENT_NAME`, by default the sweep's name. Each nested run has the
resolved config and the seed as params, per-epoch metrics at their step, the final metrics, and
tags: the sweep, the config id, the seed, the stage.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hotlap.callbacks.base import (
    Callback,
    EpochEnded,
    RunEnded,
    RunStarted,
    SweepEnded,
    SweepInfo,
    register_callback,
    require,
)

__all__ = ["MlflowCallback"]

MAX_PARAM = 6000  # MLflow's limit on a param value's length


@register_callback("mlflow")
class MlflowCallback(Callback):
    def __init__(self) -> None:
        self.client: Any = None
        self.entities: Any = None
        self.experiment: str | None = None
        self.parent: str | None = None
        self.runs: dict[int, str] = {}

    def sweep_start(self, info: SweepInfo, **extra: Any) -> None:
        require("mlflow", "mlflow")
        from mlflow import entities
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(info.workdir / 'mlflow.db').resolve()}"
        self.client = MlflowClient(tracking_uri=uri)
        self.entities = entities
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or info.spec.name
        experiment = self.client.get_experiment_by_name(name)
        self.experiment = experiment.experiment_id if experiment else self.client.create_experiment(name)
        parent = self.client.create_run(
            self.experiment,
            run_name=info.sweep.id,
            tags={
                "hotlap.sweep": info.sweep.id,
                "hotlap.recipe": info.spec.recipe_label,
                "hotlap.dataset": info.spec.dataset,
            },
        )
        self.parent = parent.info.run_id

    def run_start(self, event: RunStarted, **info: Any) -> None:
        run, config = event.run, event.config
        tags = {
            "mlflow.parentRunId": self.parent,
            "hotlap.sweep": run.sweep_id,
            "hotlap.config_id": run.config_id,
            "hotlap.seed": str(run.seed),
            "hotlap.stage": run.stage,
            "hotlap.fidelity": run.fidelity,
        }
        created = self.client.create_run(
            self.experiment, run_name=f"{run.config_id}-seed{run.seed}", tags=tags
        )
        run_id = created.info.run_id
        self.runs[run.id] = run_id
        Param = self.entities.Param
        values = {**config, "seed": run.seed}
        self.client.log_batch(run_id, params=[Param(k, str(v)[:MAX_PARAM]) for k, v in values.items()])

    def epoch(self, event: EpochEnded, **info: Any) -> None:
        run, record = event.run, event.record
        run_id = self.runs.get(run.id)
        if run_id is None:
            return
        step = int(record.get("epoch", 0))
        now = int(time.time() * 1000)
        Metric = self.entities.Metric
        metrics = [
            Metric(k, float(v), now, step)
            for k, v in record.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "epoch"
        ]
        if metrics:
            self.client.log_batch(run_id, metrics=metrics)

    def run_end(self, event: RunEnded, **info: Any) -> None:
        run, outcome = event.run, event.outcome
        run_id = self.runs.pop(run.id, None)
        if run_id is None:
            return
        now = int(time.time() * 1000)
        Metric = self.entities.Metric
        self.client.log_batch(
            run_id, metrics=[Metric(k, float(v), now, 0) for k, v in outcome.metrics.items()]
        )
        if outcome.error:
            self.client.set_tag(run_id, "hotlap.error", outcome.error[:5000])
        self.client.set_terminated(run_id, "FINISHED" if outcome.status == "done" else "FAILED")

    def sweep_end(self, event: SweepEnded, **info: Any) -> None:
        result = event.result
        for run_id in self.runs.values():
            self.client.set_terminated(run_id, "KILLED")
        self.runs.clear()
        if self.parent is not None:
            self._summarize(getattr(result, "analysis", None))
            state = getattr(result, "state", "done")
            self.client.set_terminated(self.parent, "FINISHED" if state == "done" else "KILLED")

    def _summarize(self, analysis: Any) -> None:
        """The sweep's answer on its parent run: the recommendation (tags), its config's mean
        metrics (metrics `recommended.<name>`), runs used and saved."""
        if analysis is None or self.parent is None:
            return
        recommendation = analysis.recommendation
        tags = {
            "hotlap.recommendation": recommendation.sentence[:5000],  # MLflow's tag limit
            "hotlap.recommended_config": recommendation.config or "none",
            "hotlap.verified": str(analysis.verified is not None).lower(),
        }
        for key, value in tags.items():
            self.client.set_tag(self.parent, key, value)
        metrics = {"runs_used": float(analysis.runs_used)}
        if analysis.runs_saved is not None:
            metrics["runs_saved"] = float(analysis.runs_saved)
        best = analysis.best
        if best is not None and recommendation.config is not None:
            for name, summary in best.metrics.items():
                if summary.mean is not None:
                    metrics[f"recommended.{name}"] = float(summary.mean)
        for key, value in metrics.items():
            self.client.log_metric(self.parent, key, value)
