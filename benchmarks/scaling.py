"""Runs per minute through the ray executor against the in-process executor, in the same run.

A sweep of short runs goes through the whole engine (store writes included) once in-process and
once through the ray executor with 1, 2 and N workers (Ray started locally on this machine), taken
in turn. Two recipes: `sleep`, whose run waits `--seconds` (a stand-in for a GPU-bound run: the
worker's CPU is free), so its throughput shows what parallel workers buy; and `noop`, whose run
returns at once, so the difference per run is the ray executor's own overhead (a task out, an
outcome back through Ray's object store, the actor's bookkeeping).

    .venv/bin/python benchmarks/scaling.py [--runs 32] [--seconds 0.25] [--workers 1,2]
        [--noop-runs 200]

On a GPU machine, `--packing 1,0.5,0.25 [--seeds 16]` measures packing instead: airbench94 runs per
minute on CIFAR-10 with 1, 2 and 4 runs sharing each GPU, and the runs' mean train time (how much
each packed run is slowed), which is what `gpus_per_run` trades.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import Field
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import get_executor
from hotlap.recipes import RunResult, recipe
from hotlap.spec import parse_spec
from hotlap.store import Store


class WaitConfig(RecipeConfig):
    k: int = Field(0, ge=0, description="an index, so that every config is distinct")
    seconds: float = Field(0.0, ge=0, description="how long a run waits")


@recipe(
    "bench_wait",
    config=WaitConfig,
    build_model=lambda c, n: nn.Linear(1, n),
    total_steps=lambda c, n: 1,
    summary="benchmark: a run that waits (sleep-bound) or returns at once",
    metrics=["accuracy", "train_time"],
)
def _wait(
    config: WaitConfig, data: Any, seed: int, *, on_epoch: Any = None, keep_weights: bool = True
) -> RunResult:
    begin = time.perf_counter()
    if config.seconds:
        time.sleep(config.seconds)
    return RunResult(seed=seed, metrics={"accuracy": 0.5, "train_time": time.perf_counter() - begin})


def _timed(spec: Any, executor: Any, dataset: str, device: str) -> tuple[float, list[Any]]:
    """Seconds the engine takes to run the sweep `spec` with `executor`, and its done runs."""
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder)) as store:
        record, _ = open_sweep(store, spec)
        executor.prepare(dataset, None, device)
        begin = time.perf_counter()
        Engine(store, record, executor).run()
        return time.perf_counter() - begin, store.runs(record.id, status="done")


def _sweep(runs: int, seconds: float, executor: Any) -> float:
    """Seconds for `runs` runs (one config per run) through the engine with `executor`."""
    spec = parse_spec(
        {
            "name": "scaling",
            "recipe": "bench_wait",
            "dataset": "synthetic:8",
            "device": "cpu",
            "seeds": 1,
            "space": {"k": list(range(runs))},
            "base": {"seconds": seconds},
            "keep_weights": False,
            "keep_artifacts": False,
        }
    )
    elapsed, done = _timed(spec, executor, "synthetic:8", "cpu")
    assert len(done) == runs
    return elapsed


def _packing(shares: list[float], seeds: int) -> None:
    """GPU only: airbench94 runs per minute and mean train time with each share of a GPU per run."""
    for share in shares:
        spec = parse_spec(
            {
                "name": "packing",
                "recipe": "airbench94",
                "dataset": "cifar10",
                "device": "cuda",
                "seeds": seeds,
                "timing": "packed",
                "objective": {"maximize": "tta_accuracy"},
                "executor": {"name": "ray", "gpus_per_run": share},
                "keep_weights": False,
            }
        )
        elapsed, done = _timed(spec, get_executor("ray", gpus_per_run=share), "cifar10", "cuda")
        times = [r.values["train_time"] for r in done]
        print(
            f"airbench94, {share:g} GPU per run: {len(times) / elapsed * 60:.1f} runs/min, "
            f"mean train_time {statistics.fmean(times):.3f} s over {len(times)} runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=0.25)
    parser.add_argument("--workers", default="1,2", help="ray worker counts, e.g. 1,2,4")
    parser.add_argument("--noop-runs", type=int, default=200)
    parser.add_argument("--packing", default=None, help="GPU only: shares of a GPU per run, e.g. 1,0.5,0.25")
    parser.add_argument("--seeds", type=int, default=16, help="with --packing: airbench94 runs per share")
    args = parser.parse_args()
    # Ray's workers import this file's recipe: they find it as this plugin.
    os.environ["HOTLAP_PLUGINS"] = str(Path(__file__).resolve())
    sys.modules.setdefault("hotlap_plugin_scaling", sys.modules[__name__])
    import ray

    counts = [int(w) for w in args.workers.split(",")]
    ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if args.packing:
            _packing([float(v) for v in args.packing.split(",")], args.seeds)
            return
        inprocess = _sweep(args.runs, args.seconds, get_executor("inprocess", warmup=False))
        print(
            f"sleep-bound, {args.runs} runs of {args.seconds:g} s: in-process {args.runs / inprocess * 60:.1f} runs/min"
        )
        for workers in counts:
            executor = get_executor("ray", cpus_per_run=1, max_workers=workers, warmup=False)
            elapsed = _sweep(args.runs, args.seconds, executor)
            print(
                f"  ray, {workers} worker(s): {args.runs / elapsed * 60:.1f} runs/min, "
                f"{inprocess / elapsed:.2f}x in-process"
            )
        base = statistics.median(
            _sweep(args.noop_runs, 0.0, get_executor("inprocess", warmup=False)) for _ in range(3)
        )
        executor = get_executor("ray", cpus_per_run=1, max_workers=1, queue=1, warmup=False)
        spread = statistics.median(_sweep(args.noop_runs, 0.0, executor) for _ in range(3))
        print(
            f"no-op, {args.noop_runs} runs: in-process {base / args.noop_runs * 1000:.2f} ms/run, ray (1 worker, "
            f"queue 1) {spread / args.noop_runs * 1000:.2f} ms/run: {(spread - base) / args.noop_runs * 1000:.2f} ms "
            "of ray overhead per run"
        )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
