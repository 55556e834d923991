"""A cheap recipe for engine tests: no training, a deterministic result per (config, seed).

Registered when imported (HOTLAP_PLUGINS=toy_recipe with tests/plugins on PYTHONPATH).
`tta_accuracy` peaks at x = 0.3; `seconds` makes a run take that long; `fail_seed` makes that
seed raise; `nan` makes every run diverge. Its training shape is `y` (the warmup tests count it).
`bonus` is evaluation-only (added to `tta_accuracy`): configs differing in it share training, and
`TRAINED` lists the (x, y, seed) of every training run (the shared-training tests count them).
`curve` reports that many epochs (the pruning tests).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import Field

from hotlap.config import RecipeConfig
from hotlap.errors import RunFailed
from hotlap.metrics import Metric
from hotlap.probes import CostProbe, ProbeRun, register_cost_probe
from hotlap.recipes import RunResult, SourceRun, recipe

if TYPE_CHECKING:
    from torch import nn

WARMUPS: list[int] = []  # the y of every warmup run, in order (seed 0x5EED)
TRAINED: list[tuple[float, int, int]] = []  # (x, y, seed) of every run that trained


class ToyConfig(RecipeConfig):
    x: float = Field(0.5, ge=-10, le=10, description="the knob the sweep turns")
    y: int = Field(1, ge=0, le=100, description="an integer knob")
    choice: str = Field("a", description="a categorical knob")
    epochs: float = Field(4.0, gt=0, description="fidelity: fewer epochs, lower accuracy")
    seconds: float = Field(0.0, ge=0, description="how long a run takes")
    fail_seed: int | None = Field(None, description="this seed raises")
    fail_text: str = Field("", description="appended to the failing seed's error")
    nan: bool = Field(False, description="every run diverges")
    bonus: float = Field(0.0, ge=0, le=1, description="evaluation only: added to tta_accuracy")
    late_drop: float = Field(0.0, ge=0, le=1, description="accuracy lost from seed 15 on (fresh seeds)")
    late_slow: float = Field(0.0, ge=0, description="train_time x (1 + this) from seed 15 on (fresh seeds)")
    late_spread: float = Field(0.0, ge=0, description="from seed 15 on, odd seeds take x (1 + this)")
    curve: int = Field(0, ge=0, le=100, description="epochs reported, val_acc rising to accuracy (0: one)")


def _net(config: ToyConfig, num_classes: int) -> nn.Module:
    from torch import nn  # here: the commands that train nothing (status, report) never import torch

    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, num_classes))


def _evaluate(config: ToyConfig, data, source: SourceRun, *, warmup: bool = True) -> RunResult:
    """The source's network evaluated with another bonus: its weights must be there."""
    source.state_dict()
    return RunResult(
        seed=-1,
        metrics={
            **source.metrics,
            "tta_accuracy": source.metrics["accuracy"] + 0.005 + config.bonus,
        },
        history=source.history,
    )


@recipe(
    "toy",
    config=ToyConfig,
    build_model=_net,
    total_steps=lambda c, n: int(c.epochs),
    summary="test recipe",
    metrics=["tta_accuracy", "accuracy", "total_time", "train_time", "eval_time"],
    shape=lambda c: c.y,
    evaluate=_evaluate,
    eval_fields=["bonus"],
)
def train(config: ToyConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    if seed == 0x5EED:
        WARMUPS.append(config.y)
    if seed != 0x5EED:
        TRAINED.append((config.x, config.y, seed))
    if config.seconds:
        time.sleep(config.seconds)
    if config.nan:
        raise RunFailed("non-finite training loss (nan) in epoch 0")
    if config.fail_seed == seed:
        raise ValueError(f"seed {seed} is cursed{config.fail_text}\nsecond line of the error")
    noise = ((seed * 7919) % 13 - 6) / 1000
    accuracy = 0.9 - (config.x - 0.3) ** 2 - 0.01 * config.y + noise - 0.02 / config.epochs
    if seed >= 15:  # a config whose screening seeds were kind: verification sees the truth
        accuracy -= config.late_drop
    jitter = ((seed * 104729) % 11 - 5) / 200  # +-2.5% run-to-run time noise
    train_time = 0.001 * (1 + config.y) * config.epochs * (1 + jitter)
    if seed >= 15:  # times the screening seeds did not show
        train_time *= (1 + config.late_slow) * (1 + config.late_spread * (seed % 2))
    history = [{"epoch": 1, "val_acc": accuracy}]
    if config.curve:  # a learning curve: each epoch's val_acc, the last one the run's accuracy
        history = [{"epoch": e, "val_acc": accuracy * e / config.curve} for e in range(1, config.curve + 1)]
    for record in history:
        if on_epoch is not None:
            on_epoch(record)
    artifacts = {}
    if keep_weights:
        artifacts["model.pt"] = {"w": _net(config, 10)[1].weight.detach()[:1, :4].clone()}
    return RunResult(
        seed=seed,
        metrics={
            "accuracy": accuracy,
            "tta_accuracy": accuracy + 0.005 + config.bonus,
            "train_time": train_time,
            "eval_time": 0.0005,
            "total_time": train_time + 0.0005,
        },
        history=history,
        artifacts=artifacts,
    )


class Toy2Config(ToyConfig):
    """toy2: toy's knobs, a faster and slightly less accurate recipe (for sweeps over recipes)."""


@recipe(
    "toy2",
    config=Toy2Config,
    build_model=_net,
    total_steps=lambda c, n: int(c.epochs),
    summary="test recipe: toy, half the time and 0.01 less accurate",
    metrics=["tta_accuracy", "accuracy", "total_time", "train_time", "eval_time"],
    shape=lambda c: c.y,
)
def train2(config: Toy2Config, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    result = train(config, data, seed, on_epoch=on_epoch, keep_weights=keep_weights)
    metrics = dict(result.metrics)
    for name in ("accuracy", "tta_accuracy"):
        metrics[name] -= 0.01
    metrics["train_time"] /= 2
    metrics["total_time"] = metrics["train_time"] + metrics["eval_time"]
    return RunResult(seed=seed, metrics=metrics, history=result.history, artifacts=result.artifacts)


# A plugin cost probe: how many probe hooks ran around the run (start, stop: 2), measured by
# `costs: [toy_hooks]`; registering it also puts it under the conformance kit.
@register_cost_probe("toy_probe", Metric("toy_hooks", "", "minimize", "count", description="probe hooks run"))
class ToyProbe(CostProbe):
    def start(self, run: ProbeRun) -> None:
        run.notes["toy_hooks"] = 1

    def stop(self, run: ProbeRun) -> None:
        run.notes["toy_hooks"] += 1

    def measure(self, run: ProbeRun) -> dict[str, float]:
        assert run.result is not None  # measured after the run, with its result
        return {"toy_hooks": float(run.notes["toy_hooks"])}
