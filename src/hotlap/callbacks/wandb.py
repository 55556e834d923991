"""`wandb`: one W&B run per (config, seed), grouped by sweep (optional extra `hotlap[wandb]`).

Each run: `group` = the sweep id, `job_type` = the config id, the resolved config and the seed as
its config, every epoch logged at its step, the final metrics in its summary. When the sweep
ends, one more run of the group (`job_type` summary) carries its answer: the recommendation, the
confidence, the recommended config's means, runs used and saved. The project is
`$WANDB_PROJECT` (default `hotlap`); files go under `$WANDB_DIR`, else the sweep's folder.
`WANDB_MODE=offline` works with no network (`wandb sync` uploads later). W&B's own banner is
silenced per run: the sweep says once where its runs go.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
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

__all__ = ["WandbCallback"]


@register_callback("wandb")
class WandbCallback(Callback):
    def __init__(self) -> None:
        self.wandb: Any = None
        self.info: SweepInfo | None = None
        self.runs: dict[int, Any] = {}

    def sweep_start(self, info: SweepInfo, **extra: Any) -> None:
        self.wandb = require("wandb", "wandb")
        self.info = info
        self.directory.mkdir(parents=True, exist_ok=True)
        offline = os.environ.get("WANDB_MODE") in ("offline", "dryrun")
        print(
            f"wandb: a run per (config, seed) in project {self.project}, group {info.sweep.id}, files under "
            f"{self.directory}" + (" (offline: upload with wandb sync)" if offline else ""),
            file=sys.stderr,
            flush=True,
        )

    @property
    def project(self) -> str:
        return os.environ.get("WANDB_PROJECT", "hotlap")

    @property
    def directory(self) -> Path:
        """`$WANDB_DIR` where it is set, else the sweep's folder."""
        assert self.info is not None
        return Path(os.environ.get("WANDB_DIR") or self.info.sweep.directory)

    def run_start(self, event: RunStarted, **info: Any) -> None:
        run, config = event.run, event.config
        assert self.info is not None
        self.runs[run.id] = self.wandb.init(
            project=self.project,
            group=self.info.sweep.id,
            job_type=run.config_id,
            name=f"{run.config_id}-seed{run.seed}" + ("" if run.fidelity == "full" else f"-{run.fidelity}"),
            config={
                **config,
                "seed": run.seed,
                "fidelity": run.fidelity,
                "stage": run.stage,
                "recipe": self.info.spec.recipe_label,
                "dataset": self.info.spec.dataset,
                "params": event.params,
            },
            dir=str(self.directory),
            tags=[*self.info.spec.recipe_names, run.stage],
            reinit="create_new",
            settings=self.wandb.Settings(silent=True),  # not W&B's banner per run: said once above
        )

    def epoch(self, event: EpochEnded, **info: Any) -> None:
        run, record = event.run, event.record
        handle = self.runs.get(run.id)
        if handle is not None:
            step = record.get("epoch")
            values = {k: v for k, v in record.items() if v is not None}  # no device memory on a CPU, ...
            handle.log(values, step=int(step) if isinstance(step, int | float) else None)

    def run_end(self, event: RunEnded, **info: Any) -> None:
        run, outcome = event.run, event.outcome
        handle = self.runs.pop(run.id, None)
        if handle is None:
            return
        handle.summary.update({**outcome.metrics, "status": outcome.status, "wall_time": outcome.wall_time})
        if outcome.error:
            handle.summary["error"] = outcome.error
        handle.finish(exit_code=0 if outcome.status == "done" else 1)

    def sweep_end(self, event: SweepEnded, **info: Any) -> None:
        for handle in self.runs.values():  # interrupted runs
            handle.finish(exit_code=1)
        self.runs.clear()
        self._summarize(getattr(event, "analysis", None))

    def _summarize(self, analysis: Any) -> None:
        """The sweep's answer as one more run of its group (job type `summary`): the recommendation,
        the confidence it is stated at, its config's mean metrics, runs used and saved."""
        if analysis is None or self.info is None:
            return
        recommendation = analysis.recommendation
        summary: dict[str, Any] = {
            "recommendation": recommendation.sentence,
            "recommended_config": recommendation.config or "none",
            "confidence": analysis.spec.confidence,
            "verified": analysis.verified is not None,
            "runs_used": analysis.runs_used,
        }
        if analysis.runs_saved is not None:
            summary["runs_saved"] = analysis.runs_saved
        best = analysis.best
        if best is not None and recommendation.config is not None:
            summary.update(
                {f"recommended.{n}": s.mean for n, s in best.metrics.items() if s.mean is not None}
            )
        handle = self.wandb.init(
            project=self.project,
            group=self.info.sweep.id,
            job_type="summary",
            name=f"{self.info.sweep.id}-summary",
            config={"recipe": self.info.spec.recipe_label, "dataset": self.info.spec.dataset},
            dir=str(self.directory),
            reinit="create_new",
            settings=self.wandb.Settings(silent=True),
        )
        handle.summary.update(summary)
        handle.finish(exit_code=0)
