"""Per-look levels for racing: the one level at every planned look such that a config exactly at
the threshold passes at some look with probability at most alpha (a Pocock-type boundary), for the
t bound of a mean (by importance-sampled simulation) and the exact binomial bound of a rate (by a
dynamic program). Bonferroni (alpha / looks) spends about half of alpha; these spend nearly all."""

from __future__ import annotations

import math
from functools import lru_cache

__all__ = ["CALIBRATION_PATHS", "calibrated_alpha", "calibrated_rate_alpha", "rate_crossing"]

CALIBRATION_PATHS = 100_000  # simulated races per calibration


@lru_cache(maxsize=256)
def calibrated_alpha(alpha: float, schedule: tuple[int, ...]) -> float:
    """The one-sided level of the t bound at each look such that a config whose true mean is
    exactly at the threshold passes at some look with probability at most alpha (a Pocock-type
    boundary: one level at every look). Bonferroni (alpha / looks) realises about half of alpha
    over 10 looks, which costs power and seeds; this spends nearly all of it.

    Exact for the sequence of t tests the race makes, by simulation: CALIBRATION_PATHS races of
    normal runs (a fixed random stream: the same level on every machine), drawn with their mean
    shifted above the threshold so that crossings are common even at the tiny levels of a large
    family, each crossing weighted by its likelihood ratio up to the look it crossed at (importance
    sampling, Siegmund's tilt: unbiased for the race at the threshold). The level is the largest
    whose estimated crossing probability plus three standard errors is at most alpha, so that it
    realises at most alpha. (10 looks of 5..50 seeds at alpha 0.05: about 0.010, against
    Bonferroni's 0.005; at 0.05 / 401, 1.5e-5 against 1.25e-5, where plain simulation could only
    fall back to Bonferroni.)"""
    import numpy as np
    from scipy.stats import norm
    from scipy.stats import t as student

    if len(schedule) == 1:
        return alpha
    looks_n = np.asarray(schedule)
    # the tilt: about the mean a path needs to cross at a middle look
    tilt = float(norm.isf(alpha)) / math.sqrt(math.sqrt(schedule[0] * schedule[-1]))
    rng = np.random.default_rng(0x5EED)
    p_values, log_weights = [], []
    for _ in range(CALIBRATION_PATHS // 25_000):  # in chunks: 25,000 x 50 seeds at a time
        steps = rng.standard_normal((25_000, schedule[-1]), dtype=np.float32) + np.float32(tilt)
        sums = np.cumsum(steps, axis=1, dtype=np.float64)[:, looks_n - 1]
        squares = np.cumsum(np.square(steps), axis=1, dtype=np.float64)[:, looks_n - 1]
        mean = sums / looks_n
        t = mean / np.sqrt(np.maximum(squares - looks_n * mean**2, 1e-12) / (looks_n - 1) / looks_n)
        p_values.append(student.sf(t, looks_n - 1))
        log_weights.append(-tilt * sums + looks_n * tilt**2 / 2)  # the likelihood ratio at each look
    p = np.concatenate(p_values)
    log_w = np.concatenate(log_weights)
    rows = np.arange(len(p))

    def crossing(level: float) -> tuple[float, float]:
        """The estimated P(pass at some look) at `level`, and its standard error."""
        crossed = p <= level
        first = crossed.argmax(axis=1)  # the look it first crossed at
        weights = np.where(crossed.any(axis=1), np.exp(log_w[rows, first]), 0.0)
        return float(weights.mean()), float(weights.std() / math.sqrt(len(weights)))

    floor = alpha / len(schedule)
    low, high = math.log(floor), math.log(alpha)
    for _ in range(40):  # bisection on the log level
        mid = (low + high) / 2
        estimate, error = crossing(math.exp(mid))
        if estimate + 3 * error <= alpha:
            low = mid
        else:
            high = mid
    return max(floor, math.exp(low))


def rate_crossing(level: float, schedule: tuple[int, ...], rate: float, true: float | None = None) -> float:
    """P(the exact binomial test at `level` rejects rate <= `rate` at one of the looks) when the
    success probability is `true` (default: exactly `rate`, the error; above it, the power): the
    hits' distribution carried from look to look (a dynamic program over hit counts, no
    approximation)."""
    true = rate if true is None else true
    import numpy as np
    from scipy.stats import binom

    alive = np.ones(1)  # alive[h]: P(h hits so far, and no look has crossed)
    crossed, seen = 0.0, 0
    for n in schedule:
        alive = np.convolve(alive, binom.pmf(np.arange(n - seen + 1), n - seen, true))  # the new runs
        crossing = binom.sf(np.arange(n + 1) - 1, n, rate) <= level  # P(X >= hits) at the threshold rate
        crossed += float(alive[crossing].sum())
        alive = np.where(crossing, 0.0, alive)
        seen = n
    return crossed


@lru_cache(maxsize=256)
def calibrated_rate_alpha(alpha: float, schedule: tuple[int, ...], rate: float) -> float:
    """The success-rate criterion's per-look level: the largest exact binomial level whose
    sequential use passes a config whose success probability is exactly `rate` with probability at
    most alpha over the looks (computed exactly; Clopper-Pearson at alpha / looks realised 1.2% for
    a nominal 5%)."""
    from scipy.stats import binom

    candidates = sorted({float(binom.sf(h - 1, n, rate)) for n in schedule for h in range(n + 1)})
    candidates = [c for c in candidates if c <= alpha]
    low, high = 0, len(candidates) - 1  # the largest candidate whose crossing is within alpha
    best = alpha / len(schedule)
    while low <= high:
        mid = (low + high) // 2
        if rate_crossing(candidates[mid], schedule, rate) <= alpha:
            best, low = candidates[mid], mid + 1
        else:
            high = mid - 1
    return max(best, alpha / len(schedule))


POWER = 0.8  # the power at which racing and a fixed design are compared
POWER_PATHS = 20_000  # simulated races per comparison


@lru_cache(maxsize=64)
def fixed_equivalent(
    look_level: float, futility: float | None, fixed_level: float, schedule: tuple[int, ...]
) -> tuple[float, int]:
    """The fixed design racing is worth: (delta, n). `delta` is how far above the threshold (in
    standard deviations) a config must be for racing (the t bound at `look_level` at each planned
    look, failing at `futility`) to pass it with probability POWER; `n` the fewest seeds a single
    look at `fixed_level` (the family's split alpha, no looks to correct for) needs for the same
    power there (exact, noncentral t). Racing's power by simulation of normal runs with a fixed
    random stream, so the same everywhere."""
    import numpy as np
    from scipy.stats import nct
    from scipy.stats import t as student

    looks_n = np.asarray(schedule)
    rng = np.random.default_rng(0xFA1E)
    steps = rng.standard_normal((POWER_PATHS, schedule[-1]))
    sums = np.cumsum(steps, axis=1)[:, looks_n - 1]
    squares = np.cumsum(steps**2, axis=1)[:, looks_n - 1]
    passing = student.isf(look_level, looks_n - 1)
    failing = -student.isf(futility if futility is not None else look_level, looks_n - 1)

    def power(delta: float) -> float:
        total = sums + delta * looks_n  # the same paths, shifted: common random numbers
        mean = total / looks_n
        spread = np.sqrt(
            np.maximum(squares + 2 * delta * sums + looks_n * delta**2 - looks_n * mean**2, 1e-24)
        )
        t = mean / (spread / np.sqrt(looks_n * (looks_n - 1)))
        passed, failed = t >= passing, t <= failing
        first_pass = np.where(passed.any(axis=1), passed.argmax(axis=1), len(schedule))
        first_fail = np.where(failed.any(axis=1), failed.argmax(axis=1), len(schedule))
        return float(np.mean(first_pass < first_fail))

    low, high = 0.0, 20.0
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if power(mid) >= POWER else (mid, high)
    delta = high
    n = 2
    while n < 100 * schedule[-1]:
        critical = student.isf(fixed_level, n - 1)
        if float(nct.sf(critical, n - 1, delta * math.sqrt(n))) >= POWER:
            break
        n += 1
    return delta, n
