"""The kit's cheap recipe, `kit_toy`: no training, a deterministic result per (config, seed), so the
engine-level checks (strategies, executors, callbacks, formats) run a whole sweep in a second.
Importing this module registers it (a Ray worker imports it through HOTLAP_PLUGINS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from hotlap.config import RecipeConfig
from hotlap.errors import RunFailed
from hotlap.recipes import RunResult, list_recipes, recipe

__all__ = ["NAME", "KitToyConfig", "tiny_spec", "tiny_sweep"]

NAME = "kit_toy"


class KitToyConfig(RecipeConfig):
    x: float = Field(0.5, ge=-10, le=10, description="the knob a sweep turns: accuracy peaks at 0.3")
    y: int = Field(0, ge=0, le=100, description="an integer knob: each step costs time")
    z: float = Field(1.0, description="a knob that changes nothing (a swept list)")
    fail_seed: int | None = Field(None, description="this seed fails its run")


def _train(
    config: KitToyConfig, data: Any, seed: int, *, on_epoch: Any = None, keep_weights: bool = True
) -> RunResult:
    if config.fail_seed == seed:
        raise RunFailed(f"seed {seed} fails on purpose")
    accuracy = 0.9 - (config.x - 0.3) ** 2 + ((seed * 7919) % 13 - 6) / 1000
    train_time = 0.001 * (1 + config.y) * (1 + ((seed * 104729) % 11 - 5) / 200)
    history = [{"epoch": 1, "val_acc": accuracy}]
    if on_epoch is not None:
        on_epoch(history[0])
    artifacts = {"model.pt": {"w": __import__("torch").zeros(2)}} if keep_weights else {}
    metrics = {"tta_accuracy": accuracy + 0.005, "accuracy": accuracy, "train_time": train_time}
    metrics |= {"eval_time": 0.0005, "total_time": train_time + 0.0005}
    return RunResult(seed=seed, metrics=metrics, history=history, artifacts=artifacts)


if NAME not in {r.name for r in list_recipes()}:
    recipe(
        NAME,
        config=KitToyConfig,
        build_model=None,
        total_steps=None,
        summary="the conformance kit's cheap recipe: no training",
        metrics=["tta_accuracy", "accuracy", "total_time", "train_time", "eval_time"],
    )(_train)


def tiny_spec(name: str, **fields: Any) -> dict[str, Any]:
    """A raw spec of `kit_toy` on synthetic data: two configs, two seeds (override any field)."""
    return {
        "name": name,
        "recipe": NAME,
        "dataset": "synthetic:8",
        "device": "cpu",
        "space": {"x": [0.1, 0.3]},
        "seeds": 2,
        "executor": {"name": "inprocess", "warmup": False},
        **fields,
    }


def tiny_sweep(workdir: Path, raw: dict[str, Any], *, callbacks: Any = ()) -> Any:
    """Run the raw spec to its end in `workdir`; the SweepResult."""
    from hotlap.api import run_sweep
    from hotlap.spec import parse_spec

    return run_sweep(parse_spec(raw), workdir=workdir, callbacks=callbacks)
