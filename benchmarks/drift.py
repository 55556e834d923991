"""Drift of the machine's speed against the run order: config by config (hotlap before issue 9)
and hotlap's interleaved order (`hotlap.engine.queue.RunQueue`), side by side.

Ten configs with the same true time each run 10 seeds (one round, as a grid without racing). The
machine slows down linearly over the sweep (by `--drift`, 5% by default: a GPU warming up to its
thermal limit), on top of a 1% run-to-run spread. For each order, over many sweeps: how often at
least one of these equally fast configs is called "slower than the fastest" by hotlap's own
`race` (one-sided Welch at 0.05, adjusted over the rivals), and the spread of the configs' mean
times.

    .venv/bin/python benchmarks/drift.py [--sweeps 2000] [--drift 0.05]
"""

from __future__ import annotations

import argparse

import numpy as np

from hotlap.decisions import Evidence, Target, race
from hotlap.engine.queue import RunQueue
from hotlap.store import RunRecord

CONFIGS, SEEDS, NOISE, ALPHA = 10, 10, 0.01, 0.05


def interleaved(sweep: int) -> list[str]:
    queue = RunQueue(f"drift-{sweep}/1/search")
    queue.add(
        RunRecord(c * SEEDS + s, "drift", f"c{c}", s, "full", "queued", {}, *[None] * 5, 0, *[None] * 4)
        for c in range(CONFIGS)
        for s in range(SEEDS)
    )
    return [queue.take().config_id for _ in range(CONFIGS * SEEDS)]


def config_by_config() -> list[str]:
    return [f"c{c}" for c in range(CONFIGS) for _ in range(SEEDS)]


def judge(order: list[str], drift: float, rng: np.random.Generator) -> tuple[bool, float]:
    """(some config called slower by hotlap's `race`, spread of the mean times relative to their
    mean). Every config passes the target here: only their times are compared."""
    slowdown = 1 + drift * np.arange(len(order)) / (len(order) - 1)
    times = slowdown * (1 + NOISE * rng.standard_normal(len(order)))
    by_config: dict[str, list[float]] = {}
    for config, time in zip(order, times, strict=True):
        by_config.setdefault(config, []).append(float(time))
    evidence = {c: Evidence([1.0] * len(t), t) for c, t in by_config.items()}
    verdicts = race(evidence, Target(threshold=0.5), ALPHA, time_alpha=ALPHA)
    called = any(v.reason.startswith("slower") for v in verdicts.values())
    means = [float(np.mean(t)) for t in by_config.values()]
    return called, (max(means) - min(means)) / float(np.mean(means))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=2000)
    parser.add_argument("--drift", type=float, default=0.05, help="slowdown over the sweep")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"{CONFIGS} equally fast configs x {SEEDS} seeds, {args.drift:.0%} linear slowdown over "
        f"the sweep, {NOISE:.0%} run-to-run spread, {args.sweeps} sweeps per order\n"
    )
    print("| run order | some equal config called slower | spread of mean times (median) |")
    print("|---|---|---|")
    for name, orders in (
        ("config by config (before)", lambda i: config_by_config()),
        ("interleaved, random (now)", interleaved),
    ):
        called, spreads = 0, []
        for sweep in range(args.sweeps):
            wrong, spread = judge(orders(sweep), args.drift, rng)
            called += wrong
            spreads.append(spread)
        rate = called / args.sweeps
        error = np.sqrt(max(rate * (1 - rate), 1e-12) / args.sweeps)
        print(f"| {name} | {rate:.1%} +- {error:.1%} | {np.median(spreads):.2%} |")


if __name__ == "__main__":
    main()
