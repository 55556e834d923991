"""`hotlap run`: train one config over N seeds and write a self-describing run directory.

Everything that can be wrong with the input is checked in `plan_run`, before a file is written or a
dataset is loaded. `Worker` keeps the dataset on the device and pays the warmup once per process,
so the timed runs never include loading or cuDNN autotuning. `execute` writes:

    config.json   resolved config, recipe, dataset, seeds, device, target
    env.json      hotlap / torch / CUDA / cuDNN versions, git commit, device name, host
    runs.jsonl    one line per seed: metrics, times, per-epoch history (appended as each ends)
    summary.json  n, mean/std of accuracies and times, success rate vs the target
    log.txt       readable log; the warmup run is marked [warmup]
    weights/seed-<k>.pt   final state_dict of each seed (torch.load(..., weights_only=True))
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hotlap.config import RecipeConfig, parse_overrides
from hotlap.data import DeviceData, dataset_sizes, load_dataset
from hotlap.envinfo import environment, resolve_device
from hotlap.errors import HotlapError, RunFailed
from hotlap.io import append_jsonl, atomic_write, atomic_write_json
from hotlap.recipes import Recipe, RunResult, get_recipe

__all__ = ["Reporter", "RunPlan", "Worker", "default_workdir", "execute", "plan_run", "summarize"]

WARMUP_SEED = 0x5EED  # the warmup run's seed; never reported
METRICS = ("accuracy", "tta_accuracy", "train_time", "eval_time", "total_time")


def default_workdir() -> Path:
    """`$HOTLAP_HOME`, else `./hotlap-runs`."""
    return Path(os.environ.get("HOTLAP_HOME", "hotlap-runs"))


@dataclass(frozen=True)
class RunPlan:
    """A fully validated `hotlap run`: nothing is written until it exists."""

    recipe: Recipe
    config: RecipeConfig
    dataset: str
    seeds: tuple[int, ...]
    device: torch.device
    target: float
    out_dir: Path
    data_dir: Path | None = None
    warmup: bool = True

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
    target: float = 0.94,
    out: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    warmup: bool = True,
) -> RunPlan:
    """Validate every input of a run; raise HotlapError (one line) on the first problem."""
    recipe = get_recipe(recipe_name)
    config = recipe.config(parse_overrides(overrides))
    train_size, _, _ = dataset_sizes(data)
    if recipe.total_steps(config, train_size) < 1:
        raise HotlapError(
            f"{recipe.name} on {data}: batch_size {config.batch_size} leaves no training step "  # type: ignore[attr-defined]
            f"for {train_size} training images"
        )
    if seeds < 1:
        raise HotlapError(f"--seeds must be at least 1 (got {seeds})")
    if seed_offset < 0:
        raise HotlapError(f"--seed-offset must be at least 0 (got {seed_offset})")
    if not 0.0 <= target <= 1.0:
        raise HotlapError(f"--target is an accuracy between 0 and 1 (got {target})")
    resolved_device = resolve_device(device)
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out_dir = default_workdir() / "runs" / f"{recipe.name}-{data.replace(':', '-')}-{stamp}"
    else:
        out_dir = Path(out)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise HotlapError(f"--out {out_dir} exists and is not an empty directory; choose another")
    return RunPlan(
        recipe=recipe,
        config=config,
        dataset=data,
        seeds=tuple(range(seed_offset, seed_offset + seeds)),
        device=resolved_device,
        target=target,
        out_dir=out_dir,
        data_dir=Path(data_dir) if data_dir is not None else None,
        warmup=warmup,
    )


class Worker:
    """Holds one dataset on one device and trains (config, seed) pairs, warm after the first.

    The first call of `warmup` trains once on random labels so that cuDNN autotuning (and, later,
    compilation) is paid outside every measured run.
    """

    def __init__(self, data: DeviceData) -> None:
        self.data = data
        self.warmed_up = False
        if data.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def warmup(self, recipe: Recipe, config: RecipeConfig) -> RunResult | None:
        if self.warmed_up:
            return None
        result = recipe.train(
            config, self.data.with_random_labels(WARMUP_SEED), WARMUP_SEED, keep_weights=False
        )
        self.warmed_up = True
        return result

    def run(
        self, recipe: Recipe, config: RecipeConfig, seed: int, on_epoch: Any = None
    ) -> RunResult:
        return recipe.train(config, self.data, seed, on_epoch=on_epoch)


def _describe(values: list[float]) -> dict[str, float | None]:
    """mean, sample std (None for n < 2), min and max."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "std": std, "min": min(values), "max": max(values)}


def summarize(
    records: Sequence[dict[str, Any]], target: float, metric: str = "tta_accuracy"
) -> dict[str, Any]:
    """n, mean / sample std / min / max of every metric, and the share of runs with `metric` >= `target`."""
    done = [r for r in records if r.get("status", "done") == "done"]
    summary: dict[str, Any] = {"n": len(done), "failed": len(records) - len(done)}
    for name in METRICS:
        summary[name] = _describe([float(r[name]) for r in done])
    hits = sum(1 for r in done if r[metric] >= target)
    summary["target"] = {
        "metric": metric,
        "at_least": target,
        "successes": hits,
        "success_rate": hits / len(done) if done else None,
    }
    return summary


class Reporter:
    """What `execute` tells the outside world while it works; every method is a no-op here.

    Subclass it for progress bars or logging and override what you need.
    """

    def start(self, plan: RunPlan) -> None: ...
    def warmup(self, seconds: float) -> None: ...
    def seed_started(self, seed: int, steps: int) -> None: ...
    def epoch(self, record: dict[str, Any]) -> None: ...
    def seed_finished(self, record: dict[str, Any]) -> None: ...
    def finish(self) -> None: ...


@dataclass
class RunLog:
    """Appends readable, timestamped lines to log.txt."""

    path: Path

    def write(self, message: str) -> None:
        line = f"{dt.datetime.now().isoformat(timespec='seconds')} {message}\n"
        with self.path.open("a") as handle:
            handle.write(line)


def _fmt_epoch(record: dict[str, Any]) -> str:
    return (
        f"epoch {record['epoch']:>3} step {record['steps']:>5} loss {record['train_loss']:.4f} "
        f"train_acc {record['train_acc']:.4f} val_acc {record['val_acc']:.4f} "
        f"train_time {record['train_time']:.3f}s"
    )


def execute(plan: RunPlan, reporter: Reporter | None = None) -> dict[str, Any]:
    """Load the data, warm up, train every seed, and write the run directory. Returns the summary."""
    reporter = reporter or Reporter()
    dataset = load_dataset(plan.dataset, plan.data_dir)  # may raise DataError: before any write
    out = plan.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "weights").mkdir(exist_ok=True)
    log = RunLog(out / "log.txt")
    atomic_write_json(out / "config.json", plan.describe())
    atomic_write_json(out / "env.json", environment(plan.device))
    log.write(
        f"hotlap run {plan.recipe.name} on {plan.dataset} ({dataset.train_size} train / "
        f"{dataset.test_size} test), seeds {plan.seeds[0]}..{plan.seeds[-1]}, device {plan.device}"
    )

    worker = Worker(DeviceData.from_dataset(dataset, plan.device))
    steps = plan.recipe.total_steps(plan.config, dataset.train_size)
    reporter.start(plan)
    records: list[dict[str, Any]] = []
    try:
        if plan.warmup:
            log.write("[warmup] training once on random labels (excluded from all statistics)")
            result = worker.warmup(plan.recipe, plan.config)
            assert result is not None
            log.write(
                f"[warmup] done: train_time {result.train_time:.3f}s eval_time {result.eval_time:.3f}s"
            )
            reporter.warmup(result.total_time)
        for seed in plan.seeds:
            reporter.seed_started(seed, steps)

            def on_epoch(record: dict[str, Any], seed: int = seed) -> None:
                log.write(f"seed {seed} {_fmt_epoch(record)}")
                reporter.epoch(record)

            record = _train_one(worker, plan, seed, on_epoch, log)
            records.append(record)
            append_jsonl(out / "runs.jsonl", record)
            reporter.seed_finished(record)
    except KeyboardInterrupt:
        log.write(f"interrupted after {len(records)} of {len(plan.seeds)} seeds")
        _write_summary(out, plan, records, interrupted=True)
        reporter.finish()
        raise
    summary = _write_summary(out, plan, records, interrupted=False)
    reporter.finish()
    return summary


def _train_one(
    worker: Worker, plan: RunPlan, seed: int, on_epoch: Any, log: RunLog
) -> dict[str, Any]:
    started = dt.datetime.now().isoformat(timespec="seconds")
    try:
        result = worker.run(plan.recipe, plan.config, seed, on_epoch=on_epoch)
    except (RunFailed, torch.OutOfMemoryError) as exc:
        error = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        log.write(f"seed {seed} FAILED: {error}")
        return {
            "seed": seed,
            "status": "failed",
            "error": error,
            "traceback": traceback.format_exc(),
            "started": started,
        }
    if result.state_dict is not None:
        atomic_write(
            plan.out_dir / "weights" / f"seed-{seed}.pt", lambda h: torch.save(result.state_dict, h)
        )
    metrics = result.metrics()
    record = {
        "seed": metrics.pop("seed"),
        "status": "done",
        **metrics,
        "started": started,
        "ended": dt.datetime.now().isoformat(timespec="seconds"),
    }
    log.write(
        f"seed {seed} done: accuracy {result.accuracy:.4f} tta_accuracy {result.tta_accuracy:.4f} "
        f"train_time {result.train_time:.3f}s eval_time {result.eval_time:.3f}s"
    )
    return record


def _write_summary(
    out: Path, plan: RunPlan, records: list[dict[str, Any]], *, interrupted: bool
) -> dict[str, Any]:
    summary = summarize(records, plan.target)
    summary["seeds_planned"] = len(plan.seeds)
    summary["interrupted"] = interrupted
    atomic_write_json(out / "summary.json", summary)
    return summary
