"""`hotlap run`: train one config over N seeds, recorded in the store as a one-config sweep.

Everything that can be wrong with the input is checked in `plan_run`, before a file is written or a
dataset is loaded. `execute` drives the sweep engine (warm worker, exactly-once store) and leaves a
self-describing run directory (`--out`, default `$HOTLAP_HOME/sweeps/<sweep id>`):

    config.json   resolved config, recipe, dataset, seeds, device, target, sweep id
    env.json      hotlap / torch / CUDA / cuDNN versions, git commit, device name, host
    runs.jsonl    one line per seed: metrics, times, per-epoch history (appended as each ends)
    summary.json  n, mean/std/min/max of accuracies and times, success rate vs the target
    log.txt       readable log; the warmup run is marked [warmup]
    <config>/seed-<k>/model.pt   each seed's final state_dict (torch.load(..., weights_only=True))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hotlap.analysis.run_summary import summarize
from hotlap.config import RecipeConfig, parse_overrides
from hotlap.engine.artifacts import write_run_summary
from hotlap.envinfo import resolve_device
from hotlap.errors import HotlapError
from hotlap.io import atomic_write_json, folder_problem, to_json
from hotlap.recipes import Recipe, get_recipe
from hotlap.spec.fields import MAX_SEED, MAX_SEEDS
from hotlap.store import FINISHED, Store, open_store

__all__ = ["RunPlan", "execute", "plan_run", "summarize"]


@dataclass(frozen=True)
class RunPlan:
    """A fully validated `hotlap run`: nothing is written until it exists."""

    recipe: Recipe
    config: RecipeConfig
    overrides: dict[str, Any]
    dataset: str
    seeds: tuple[int, ...]
    device: torch.device
    target: float | None  # None: no success rate (the recipe has no target of its own, none given)
    out_dir: Path | None
    data_dir: Path | None = None
    warmup: bool = True
    executor: str = "inprocess"
    callbacks: tuple[str, ...] = ()
    log_every: int = 0  # epochs between the untimed test evaluations logged; 0: the last only

    def describe(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.name,
            "dataset": self.dataset,
            "seeds": list(self.seeds),
            "device": str(self.device),
            "target": self.target,
            "warmup": self.warmup,
            "config": self.config.model_dump(),
        }


def plan_run(
    recipe_name: str,
    overrides: Sequence[str] = (),
    *,
    data: str = "cifar10",
    seeds: int = 1,
    seed_offset: int = 0,
    device: str = "auto",
    target: float | None = None,
    out: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    warmup: bool = True,
    executor: str = "inprocess",
    callbacks: Sequence[str] = (),
    log_every: int = 0,
) -> RunPlan:
    """Validate every input of a run; raise HotlapError (one line) on the first problem."""
    from hotlap.callbacks import check_callbacks
    from hotlap.executors import check_executor

    recipe = get_recipe(recipe_name)
    if not recipe.uses_data:
        raise HotlapError(
            f"recipe {recipe.name} runs from a sweep spec: write its script: block in a YAML file "
            "and run hotlap sweep FILE (docs: how-to/script.md)"
        )
    check_executor(executor)
    check_callbacks(callbacks)
    parsed = parse_overrides(overrides)
    config = recipe.config(parsed)
    recipe.check_trainable(config, data)
    if seeds < 1:
        raise HotlapError(f"--seeds must be at least 1 (got {seeds})")
    if seeds > MAX_SEEDS:
        raise HotlapError(f"--seeds {seeds:,} is over the limit of {MAX_SEEDS:,} seeds per config")
    if seed_offset < 0:
        raise HotlapError(f"--seed-offset must be at least 0 (got {seed_offset})")
    if log_every < 0:
        raise HotlapError(f"--log-every must be at least 0 (got {log_every}; 0: after the last epoch only)")
    if seed_offset + seeds - 1 > MAX_SEED:
        raise HotlapError(
            f"--seed-offset {seed_offset:,} with --seeds {seeds:,} goes past the largest seed, {MAX_SEED:,} "
            "(32 bits, as numpy and most scripts take)"
        )
    target = recipe.target if target is None else target  # the recipe's own (airbench94: 94%)
    if target is not None and recipe.metrics[0].kind == "fraction" and not 0.0 < target < 1.0:
        raise HotlapError(
            f"--target: {recipe.metrics[0].name} is a fraction; give a value between 0 and 1 (got {target})"
        )
    resolved_device = resolve_device(device)
    out_dir = Path(out) if out is not None else None
    if out_dir is not None and out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise HotlapError(f"--out {out_dir} exists and is not an empty directory; choose another")
    if out_dir is not None and (problem := folder_problem(out_dir)) is not None:
        raise HotlapError(f"--out {out_dir}: {problem}")
    return RunPlan(
        recipe=recipe,
        config=config,
        overrides=parsed,
        dataset=data,
        seeds=tuple(range(seed_offset, seed_offset + seeds)),
        device=resolved_device,
        target=target,
        out_dir=out_dir,
        data_dir=Path(data_dir) if data_dir is not None else None,
        warmup=warmup,
        executor=executor,
        callbacks=tuple(callbacks),
        log_every=log_every,
    )


def run_spec(plan: RunPlan) -> dict[str, Any]:
    """The one-config sweep spec of a run."""
    first = plan.recipe.metrics[0]
    bound = "at_least" if first.direction == "maximize" else "at_most"
    # --target is the sweep's target, so status and report judge the run against it too.
    target = (
        {"objective": {"target": {"metric": first.name, bound: plan.target}}}
        if first.kind == "fraction" and plan.target is not None
        else {}
    )
    spec = {
        **target,
        "recipe": plan.recipe.name,
        "dataset": plan.dataset,
        "device": str(plan.device),
        "base": plan.overrides,
        "seeds": list(plan.seeds),
        "strategy": "grid",
        "keep_weights": True,
        # the untimed test evaluation after every Nth epoch (0: the last only, as in a sweep: on
        # the digits, one after every epoch made the run 20% slower)
        "log_every": plan.log_every,
        "executor": plan.executor,
        "callbacks": list(plan.callbacks),
    }
    # Named by its time, what it runs (two runs of other configs started within one second must not
    # meet as one sweep) and a random part (nor two runs of the same one).
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    digest = hashlib.sha256(to_json(spec).encode()).hexdigest()[:6]
    name = f"run-{plan.recipe.name}-{plan.dataset.replace(':', '-')}-{stamp}-{digest}{secrets.token_hex(2)}"
    return {"name": name, **spec}


def execute(
    plan: RunPlan, reporter: Any = None, *, store: Store | None = None, executor: Any = None
) -> dict[str, Any]:
    """Train every seed through the engine and write the run directory. Returns the summary."""
    from hotlap.callbacks import get_callback
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import get_executor
    from hotlap.spec.validate import parse_spec

    data_dir = str(plan.data_dir) if plan.data_dir is not None else None
    executor = executor or get_executor(
        plan.executor,
        **({"warmup": "auto" if plan.warmup else False} if plan.executor == "inprocess" else {}),
    )
    executor.prepare(plan.dataset, data_dir, str(plan.device))  # data errors come before any write
    spec = parse_spec(run_spec(plan))
    if store is None:
        with open_store() as own:
            return execute(plan, reporter, store=own, executor=executor)
    if plan.out_dir is not None:  # made before the sweep is stored: a refused folder stores nothing
        try:
            plan.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HotlapError(f"--out {plan.out_dir}: {exc.strerror}") from None
    sweep, _ = open_sweep(store, spec, directory=plan.out_dir, sweep_id=spec.name)
    out = sweep.directory
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", {**plan.describe(), "sweep": sweep.id})
    callbacks = [("progress", reporter)] if reporter is not None else []
    callbacks += [(name, get_callback(name)) for name in plan.callbacks]
    engine = Engine(store, sweep, executor, callbacks=callbacks, data_dir=data_dir)
    try:
        engine.run()  # it writes summary.json when the sweep ends (a `hotlap resume` of it too)
    except KeyboardInterrupt:  # (also where it stopped before the engine could end the sweep)
        _write_summary(store, sweep.id, plan, out, interrupted=True)
        raise
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def _write_summary(
    store: Store, sweep_id: str, plan: RunPlan, out: Path, *, interrupted: bool
) -> dict[str, Any]:
    runs = [r for r in store.runs(sweep_id) if r.status in FINISHED]
    summary = write_run_summary(out, sweep_id, runs, plan.recipe.metrics, interrupted=interrupted)
    assert summary is not None, "config.json names the run"
    return summary
