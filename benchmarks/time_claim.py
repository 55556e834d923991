"""Verification's time claim, by simulation through hotlap's own check
(`hotlap.analysis.time_claim.check_time`): how often a config as fast as the baseline is
said to be better than it (the claim's error, at most alpha = 0.05 when it holds), and how often
a config truly 2% or 5% faster is confirmed (its power), on the noise shapes times really have.

Each fresh seed runs the config and the baseline back to back (verification's paired queue); a
run's time is its config's mean times (1 + noise), the noise one of:

- normal: 1.5% run-to-run spread;
- heavy: Student t with 3 degrees of freedom, scaled to the same spread;
- slow runs: 1% spread, and 5% of runs 15% slower (a background job, a page-cache miss);
- drift: the machine's speed wanders (a random walk of 0.5% a seed, shared by the two runs of a
  seed) over 1% independent noise;
- noisy machine: 8% spread, above 5% and above the 2% and 5% savings: the claim is withheld there
  whatever the test says (a saving larger than the spread still stands).

    .venv/bin/python benchmarks/time_claim.py [--replications 4000]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from rates import cell

from hotlap.analysis.reports import ConfigReport
from hotlap.analysis.time_claim import check_time
from hotlap.metrics import get_metric

Noise = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def _normal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0, 0.015, n), rng.normal(0, 0.015, n)


def _heavy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    scale = 0.015 / np.sqrt(3.0)  # t3's variance is 3
    return scale * rng.standard_t(3, n), scale * rng.standard_t(3, n)


def _slow_runs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    def one() -> np.ndarray:
        return rng.normal(0, 0.01, n) + 0.15 * (rng.random(n) < 0.05)

    return one(), one()


def _drift(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    walk = np.cumsum(rng.normal(0, 0.005, n))
    return walk + rng.normal(0, 0.01, n), walk + rng.normal(0, 0.01, n)


def _noisy(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0, 0.08, n), rng.normal(0, 0.08, n)


SHAPES: dict[str, Noise] = {
    "normal": _normal,
    "heavy": _heavy,
    "slow runs": _slow_runs,
    "drift": _drift,
    "noisy machine": _noisy,
}


def _report(config_id: str, times: np.ndarray, baseline: bool) -> ConfigReport:
    seeds = tuple(range(100, 100 + len(times)))
    values = {"train_time": dict(zip(seeds, map(float, times), strict=True))}
    return ConfigReport(
        config_id, {}, {}, baseline, "full", "verify", 0, seeds, {}, values, None, None, None, None
    )


def claimed(rng: np.random.Generator, noise: Noise, faster: float, seeds: int) -> bool:
    """One verification: does the claim "config better than the baseline" hold?"""
    mine, base = noise(rng, seeds)
    reports = [
        _report("config", 3.0 * (1 - faster) * (1 + mine), False),
        _report("base", 3.0 * (1 + base), True),
    ]
    check = check_time(reports, "config", get_metric("train_time"), 0.05, 0.95)
    assert check is not None
    return check.holds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=4000)
    args = parser.parse_args()
    n = args.replications
    print(f"{n} verifications per cell; the claim holds (95% Clopper-Pearson interval).\n")
    print(
        "| time noise | fresh seeds | equally fast: claimed (error) | 2% faster: confirmed | 5% faster: confirmed |"
    )
    print("|---|---|---|---|---|")
    for name, noise in SHAPES.items():
        for seeds in (5, 10, 50):
            rng = np.random.default_rng(29)
            cells = [cell(sum(claimed(rng, noise, f, seeds) for _ in range(n)), n) for f in (0.0, 0.02, 0.05)]
            print(f"| {name} | {seeds} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
