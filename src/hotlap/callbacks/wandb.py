"""`wandb`: one W&B run per (config, seed), grouped by sweep (optional extra `hotlap[wandb]`).

Each run: `group` = the sweep id, `job_type` = the config id, the resolved config and the seed as
its config, every epoch logged at its step, the final metrics in its summary. The project is
`$WANDB_PROJECT` (default `hotlap`); files go under the sweep's folder. `WANDB_MODE=offline` works
with no network (`wandb sync` uploads later).
"""

from __future__ import annotations

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
        info.sweep.directory.mkdir(parents=True, exist_ok=True)

    def run_start(self, event: RunStarted, **info: Any) -> None:
        run, config = event.run, event.config
        import os

        assert self.info is not None
        self.runs[run.id] = self.wandb.init(
            project=os.environ.get("WANDB_PROJECT", "hotlap"),
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
            dir=str(self.info.sweep.directory),
            tags=[*self.info.spec.recipe_names, run.stage],
            reinit="create_new",
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
