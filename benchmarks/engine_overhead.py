"""Engine overhead: 1,000 runs of a no-op recipe through the whole engine, store writes included.

Every run goes through the same path as a real one: the strategy proposes a config, the driver
registers it and its run in SQLite, claims the run, the in-process executor "trains" (returns at
once), the driver writes the run's artifacts (config.json, metrics.json) and marks it done, and the
progress reporter is called. What is left is hotlap's own cost per run.

    .venv/bin/python benchmarks/engine_overhead.py [--runs 1000] [--seeds 1]

Prints the median and 90th percentile of the time between consecutive finished runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import Field
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.executors import InProcessExecutor
from hotlap.recipes import RunResult, recipe
from hotlap.store import Store
from hotlap.sweep import parse_spec
from hotlap.sweep.engine import Engine, SweepReporter, open_sweep


class NoopConfig(RecipeConfig):
    k: int = Field(0, ge=0, description="an index, so that every config is distinct")


@recipe("noop", config=NoopConfig, build_model=lambda c, n: nn.Identity(), total_steps=lambda c, n: 1,
        summary="does nothing")  # fmt: skip
def train(
    config: NoopConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True
) -> RunResult:
    return RunResult(seed=seed, accuracy=0.5, tta_accuracy=0.5, train_time=0.0, eval_time=0.0)


class Clock(SweepReporter):
    def __init__(self) -> None:
        self.stamps: list[float] = []

    def run_finished(self, run, outcome, best) -> None:
        self.stamps.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    configs = args.runs // args.seeds
    spec = parse_spec({
        "name": "overhead", "recipe": "noop", "dataset": "synthetic:8", "device": "cpu", "keep_weights": False,
        "space": {"k": {"low": 0, "high": configs - 1, "step": 1}}, "seeds": args.seeds,
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir, Store(Path(workdir)) as store:
        record, _ = open_sweep(store, spec)
        clock = Clock()
        begin = time.perf_counter()
        result = Engine(store, record, InProcessExecutor(warmup=False), reporter=clock).run()
        total = time.perf_counter() - begin
    gaps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:], strict=False)]
    gaps.sort()
    print(f"{result.ran} runs ({configs} configs x {args.seeds} seeds) in {total:.2f} s: "
          f"median {1000 * statistics.median(gaps):.2f} ms per run, p90 {1000 * gaps[int(0.9 * len(gaps))]:.2f} ms, "
          f"mean {1000 * total / result.ran:.2f} ms (start-up included)")  # fmt: skip
    sys.exit(0 if result.state == "done" else 1)


if __name__ == "__main__":
    main()
