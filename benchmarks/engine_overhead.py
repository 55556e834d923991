"""Engine overhead: 1,000 runs of a no-op recipe through the whole engine, store writes included.

Every run goes through the same path as a real one: the strategy proposes a config, the driver
registers it and its run in SQLite, claims the run, the in-process executor "trains" (returns at
once), the driver writes the run's artifacts (config.json, metrics.json) and marks it done, and the
progress reporter is called. What is left is hotlap's own cost per run.

    .venv/bin/python benchmarks/engine_overhead.py [--runs 1000] [--seeds 1] [--repeat 3] [--budget]

Prints the median and 90th percentile of the time between consecutive finished runs, per sweep
and as the median over `--repeat` sweeps, and the median gap of the last 1,000 runs over the first
1,000 (flat: near 1; `--budget` adds a `max_runs` the sweep never reaches, counted before every
run). The store lives in a temporary folder ($TMPDIR): on a
disk this includes its latency, on tmpfs (TMPDIR=/dev/shm) only hotlap's own CPU cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import Field

from hotlap.callbacks import Callback
from hotlap.config import RecipeConfig
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.recipes import RunResult, recipe
from hotlap.spec import parse_spec
from hotlap.store import Store


class NoopConfig(RecipeConfig):
    k: int = Field(0, ge=0, description="an index, so that every config is distinct")


@recipe(  # no data, no network: like a `script` recipe, a sweep of it never imports torch
    "noop",
    config=NoopConfig,
    build_model=None,
    total_steps=None,
    summary="does nothing",
    metrics=["accuracy", "train_time"],
    uses_data=False,
)
def train(config: NoopConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    return RunResult(seed=seed, metrics={"accuracy": 0.5, "train_time": 0.0})


class Clock(Callback):
    def __init__(self) -> None:
        self.stamps: list[float] = []

    def run_end(self, event, **info) -> None:
        self.stamps.append(time.perf_counter())


def noop_spec(runs: int, seeds: int, **extra: object):
    """A sweep of `runs` no-op runs: runs // seeds configs (a grid over `k`) x `seeds` seeds."""
    configs = runs // seeds
    return parse_spec(
        {
            "name": "overhead",
            "recipe": "noop",
            "device": "cpu",
            "keep_weights": False,
            "space": {"k": {"low": 0, "high": configs - 1, "step": 1}},
            "seeds": seeds,
            **extra,
        }
    )


def one_sweep(runs: int, seeds: int, **extra: object) -> tuple[list[float], float, int]:
    """Per-run gaps (s), total seconds and runs finished of one fresh sweep (`extra`: spec keys)."""
    spec = noop_spec(runs, seeds, **extra)
    with tempfile.TemporaryDirectory() as workdir, Store(Path(workdir)) as store:
        record, _ = open_sweep(store, spec)
        clock = Clock()
        begin = time.perf_counter()
        result = Engine(store, record, InProcessExecutor(warmup=False), callbacks=[("clock", clock)]).run()
        total = time.perf_counter() - begin
    os.sync()  # the removed folders' writes, flushed now: never charged to the next sweep
    if result.state != "done":
        sys.exit(f"the sweep ended {result.state}: {result.message}")
    gaps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:], strict=False)]
    return gaps, total, result.ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="sweeps to run; the median of their medians")
    parser.add_argument(
        "--sizes",
        default=None,
        help="config counts to compare, e.g. 100,5000: the per-run cost of the last 100 runs of each",
    )
    parser.add_argument("--budget", action="store_true", help="with budget: {max_runs: RUNS} (never reached)")
    args = parser.parse_args()
    extra = {"budget": {"max_runs": args.runs + 1}} if args.budget else {}
    if args.sizes:
        compare_sizes([int(n) for n in args.sizes.split(",")], args.repeat, **extra)
        return
    medians, p90s, ratios = [], [], []
    for _ in range(args.repeat):
        gaps, total, ran = one_sweep(args.runs, args.seeds, **extra)
        ends = max(1, min(1000, len(gaps) // 5))  # the first and the last 1,000 runs (or fifth)
        ratios.append(statistics.median(gaps[-ends:]) / statistics.median(gaps[:ends]))
        gaps.sort()
        medians.append(statistics.median(gaps))
        p90s.append(gaps[int(0.9 * len(gaps))])
        print(
            f"  {ran} runs in {total:.2f} s: median {1000 * medians[-1]:.2f} ms per run, "
            f"p90 {1000 * p90s[-1]:.2f} ms, last {ends} runs {ratios[-1]:.2f}x the first {ends}"
        )
    print(
        f"{args.runs // args.seeds} configs x {args.seeds} seeds{' with a budget' if extra else ''}, "
        f"{args.repeat} sweeps: median of medians {1000 * statistics.median(medians):.2f} ms per run "
        f"(p90 {1000 * statistics.median(p90s):.2f} ms), last/first {statistics.median(ratios):.2f}x; "
        f"workdir under {tempfile.gettempdir()}"
    )


def compare_sizes(sizes: list[int], repeat: int, **extra: object) -> None:
    """The per-run cost once a sweep holds N configs (one seed each): the median gap of its last
    100 runs, for each N, side by side in one process, and the ratio to the smallest N."""
    costs = {}
    for configs in sizes:
        lasts = []
        for _ in range(repeat):
            gaps, _total, _ran = one_sweep(configs, 1, **extra)
            lasts.append(statistics.median(gaps[-100:]))
        costs[configs] = statistics.median(lasts)
        print(f"  {configs} configs: {1000 * costs[configs]:.2f} ms per run over the last 100 runs")
    smallest = costs[min(sizes)]
    for configs in sizes:
        print(
            f"{configs} configs: {1000 * costs[configs]:.2f} ms per run, {costs[configs] / smallest:.2f}x the cost at {min(sizes)}"
        )


if __name__ == "__main__":
    main()
