"""Verification's fall-back, by simulation through hotlap's own engine: a recipe of known truth
(`truth`: accuracy = its config's mean + normal noise of std 0.14 points, time = its config's time
x (1 + 1% noise); `fresh_drop` is lost on the fresh seeds verification runs: a screening winner
whose edge was luck).

Scenario: 2 fast configs (94.40%, time 1.00-1.01) pass the search at their first look and lose 0.7
points on fresh seeds; 12 good configs at 94.12-94.21% (time 1.05-1.16) are truly above the 94%
target; racing 5 / 50 / 5, verification on 50 fresh seeds, 3 candidates. Once a fast config passes, the slower undecided
ones close as "slower than it" before they can pass; the two fast candidates then fail on fresh
seeds. Before the fall-back the sweep then recommended nothing wherever no slower config had
passed yet; now those races reopen (the failed candidates left out) and the next that passes is
verified.

    .venv/bin/python benchmarks/fall_back.py [--sweeps 200]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from pydantic import Field
from rates import cell
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.recipes import RunResult, recipe
from hotlap.spec import parse_spec
from hotlap.store import Store

FRESH = 50  # verification's fresh seeds start after the search's last (seeds 0-49)


class TruthConfig(RecipeConfig):
    mean: float = Field(0.94, description="true mean accuracy")
    seconds: float = Field(1.0, description="true mean time")
    fresh_drop: float = Field(0.0, description="accuracy lost on verification's fresh seeds")
    sweep: int = Field(0, description="which simulated sweep: its own random stream")


@recipe(
    "truth",
    config=TruthConfig,
    build_model=lambda c, n: nn.Identity(),
    total_steps=lambda c, n: 1,
    summary="known truth, for simulation",
    metrics=["tta_accuracy", "train_time"],
)
def _train(config: TruthConfig, data, seed: int, *, on_epoch=None, keep_weights: bool = True) -> RunResult:
    rng = random.Random(f"{config.sweep} {config.mean} {config.seconds} {seed}")
    accuracy = config.mean + rng.gauss(0.0, 0.0014) - (config.fresh_drop if seed >= FRESH else 0.0)
    seconds = config.seconds * (1 + rng.gauss(0.0, 0.01))
    return RunResult(seed=seed, metrics={"tta_accuracy": accuracy, "train_time": seconds})


FAST = [(0.9440, 1.00), (0.9440, 1.01)]
GOOD = [(0.9412 + 0.00008 * ((5 * i) % 12), 1.05 + 0.01 * i) for i in range(12)]


def spec(sweep: int) -> dict:
    variants = {f"fast{i}": {"mean": m, "seconds": s, "fresh_drop": 0.007} for i, (m, s) in enumerate(FAST)}
    variants |= {f"good{i}": {"mean": m, "seconds": s} for i, (m, s) in enumerate(GOOD)}
    return {
        "name": f"fall-back-{sweep}",
        "recipe": "truth",
        "dataset": "synthetic:8",
        "device": "cpu",
        "keep_weights": False,
        "base": {"sweep": sweep},
        "variants": variants,
        "seeds": {"min": 5, "max": 50, "step": 5},
        "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.94}, "minimize": "train_time"},
        "verify": {"seeds": 50, "candidates": 3},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=200)
    args = parser.parse_args()
    good = wrong = none = fell_back = 0
    runs = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for sweep in range(args.sweeps):
            with Store(Path(folder) / str(sweep)) as store:
                record, _ = open_sweep(store, parse_spec(spec(sweep)))
                result = Engine(store, record, InProcessExecutor(warmup=False)).run()
                stored = store.runs(record.id, details=False)
            analysis = result.analysis
            runs += len(stored)
            # runs are stored as they are queued: a search run after a verification run raced on
            first_verify = min((r.id for r in stored if r.stage == "verify"), default=None)
            fell_back += first_verify is not None and any(
                r.stage == "search" and r.id > first_verify for r in stored
            )
            chosen = analysis.recommendation.config
            variant = next(
                (c.params.get("variant", "") for c in analysis.configs if c.config_id == chosen), ""
            )
            if chosen is None:
                none += 1
            elif variant.startswith("good"):
                good += 1
            else:
                wrong += 1
    n = args.sweeps
    print(f"{n} sweeps, {runs / n:.0f} runs each on average, {time.perf_counter() - start:.0f} s\n")
    print("| sweeps | a good config recommended | a wrong one | none | the fall-back raced (none before) |")
    print("|---|---|---|---|---|")
    cells = " | ".join(cell(k, n) for k in (good, wrong, none, fell_back))
    print(f"| {n} | {cells} |")


if __name__ == "__main__":
    main()
