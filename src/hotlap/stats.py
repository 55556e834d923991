"""Statistics over run results: pure functions, values in, numbers out (SciPy).

- `describe`: n, mean, std, median, min, max, and the Student-t confidence interval of the mean.
- `success_rate`: the share of runs at or above a threshold, with its exact (Clopper-Pearson)
  interval.
- `mean_bounds` / `rate_bounds`: one-sided lower and upper confidence bounds, each at level
  1 - alpha, which is what decisions are made on; `pooled_spread` the run-to-run spread pooled
  over many configs, and a mean's bounds with it.
- `welch_greater`: the one-sided Welch test racing closes slower configs with. A config against
  its baseline (paired t, Wilcoxon, Welch, Holm): `hotlap.comparisons`.

`std` is the sample standard deviation (n - 1). With fewer than two values a spread or bound is
undefined and reported as None (or as the widest possible bound where a decision needs one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "PooledSpread",
    "Rate",
    "Summary",
    "describe",
    "mean_bounds",
    "mean_of",
    "mean_std",
    "pooled_spread",
    "rate_bounds",
    "skew_test",
    "spread_above",
    "success_count",
    "success_rate",
    "welch_greater",
]


@lru_cache(maxsize=1)
def _sps():  # type: ignore[no-untyped-def]
    """scipy.stats, imported on first use (the tests of `compare`): `hotlap ls` and `status`
    never pay its ~0.9 s import."""
    from scipy import stats

    return stats


@lru_cache(maxsize=1)
def _special():  # type: ignore[no-untyped-def]
    """scipy.special, the distribution functions the decisions need (what scipy.stats's t and
    beta call underneath, bit for bit), in under half of scipy.stats's import time."""
    from scipy import special

    return special


@lru_cache(maxsize=4096)
def _t(q: float, df: int) -> float:
    return float(_special().stdtrit(df, q))  # scipy.stats.t.ppf(q, df)


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n >= 2) in float arithmetic: `statistics.stdev` is
    exact (fractions) and 20x slower, which a report over 50,000 runs feels. Remembered for the
    last values seen: one look of a race reads a config's values up to seven times (the pooled
    spread, its bounds at two levels, its times' bounds, the Welch test against the fastest, for
    every rival the fastest's), and hashing them costs a tenth of the sums."""
    return _described(tuple(values))


def _spread(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    mean = _exact_mean(values, low, high)
    return mean, 0.0 if low == high else _std_about(values, mean)


_described = lru_cache(maxsize=8192)(_spread)


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """`describe`'s mean and std alone (the same floats; None where it gives None): a CSV row's
    mean and std of each further metric, 150,000 of them at 50,000 configs, need nothing else."""
    if len(values) < 2:
        return (float(values[0]), None) if values else (None, None)
    return _spread(values)


def _std_about(values: Sequence[float], mean: float) -> float:
    """The sample standard deviation of two or more values around their `mean` (exactly rounded
    sums: the order does not matter)."""
    return math.sqrt(math.fsum([(v - mean) ** 2 for v in values]) / (len(values) - 1))


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    std: float | None
    median: float | None
    min: float | None
    max: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float


def describe(
    values: Sequence[float], confidence: float = 0.95, bounds: tuple[float, float] | None = None
) -> Summary:
    """n, mean, sample std, median, min, max and the two-sided t CI of the mean (clipped to
    `bounds`, the range the values live in: a fraction's interval stays within 0 and 1)."""
    n = len(values)
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None, confidence)
    if n == 1:
        mean = float(values[0])
        return Summary(1, mean, None, mean, mean, mean, None, None, confidence)
    ordered = sorted(values)  # one sort gives min, max and median (a report describes 25,000 sets)
    low, high, mid = ordered[0], ordered[-1], n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    mean = _exact_mean(ordered, low, high)
    std = 0.0 if low == high else _std_about(ordered, mean)
    half = _t(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    ci_low, ci_high = mean - half, mean + half
    if bounds is not None:
        ci_low, ci_high = max(bounds[0], ci_low), min(bounds[1], ci_high)
    return Summary(n, mean, std, median, low, high, ci_low, ci_high, confidence)


def mean_of(values: Sequence[float]) -> float | None:
    """The mean `describe` gives (None without values), without the rest of the summary: exactly
    rounded (`math.fsum`: the order does not matter), and exactly the value where all are equal
    (a rounding error must not invent a spread)."""
    if not values:
        return None
    return float(values[0]) if len(values) == 1 else _exact_mean(values, min(values), max(values))


def _exact_mean(values: Sequence[float], low: float, high: float) -> float:
    return float(low) if low == high else math.fsum(values) / len(values)


def mean_bounds(
    values: Sequence[float], alpha: float, *, min_std: float = 0.0, bounds: tuple[float, float] | None = None
) -> tuple[float, float]:
    """One-sided lower and upper confidence bounds of the mean, each at level 1 - alpha.

    `min_std`: the smallest standard deviation the measurement can honestly have (an accuracy on N
    test images moves in steps of 1/N): all-equal runs never make a bound certain. `bounds`: the
    range the values live in (a fraction: 0 to 1); the bounds are clipped to it, which keeps their
    coverage (the true mean is inside it too). With fewer than two values nothing is known: the
    whole range.
    """
    low_end, high_end = bounds if bounds is not None else (-math.inf, math.inf)
    n = len(values)
    if n < 2:
        return low_end, high_end
    mean, std = _mean_std(values)
    if max(std, min_std) == 0:  # all equal, and no known step: no spread is no certainty
        return low_end, high_end
    half = _t(1 - alpha, n - 1) * max(std, min_std) / math.sqrt(n)
    return max(low_end, mean - half), min(high_end, mean + half)


POOL_SPREAD_RATIO = 10.0  # a config whose variance is this many times the median's is its own


@dataclass(frozen=True)
class PooledSpread:
    """The run-to-run standard deviation pooled over configs, with its degrees of freedom."""

    std: float
    df: int

    def bounds(
        self,
        values: Sequence[float],
        alpha: float,
        *,
        min_std: float = 0.0,
        bounds: tuple[float, float] | None = None,
    ) -> tuple[float, float]:
        """One-sided bounds of the mean of `values` at level 1 - alpha with this spread (the
        pooled t bound: exact for normal runs of a common spread)."""
        low_end, high_end = bounds if bounds is not None else (-math.inf, math.inf)
        n = len(values)
        if n < 1 or self.df < 1:
            return low_end, high_end
        if max(self.std, min_std) == 0:
            return low_end, high_end
        mean = math.fsum(values) / n
        half = _t(1 - alpha, self.df) * max(self.std, min_std) / math.sqrt(n)
        return max(low_end, mean - half), min(high_end, mean + half)


def pooled_spread(groups: Iterable[Sequence[float]]) -> PooledSpread | None:
    """The standard deviation pooled over groups of values (configs' runs) of two or more:
    sum((n - 1) s^2) / sum(n - 1). A group whose variance is over POOL_SPREAD_RATIO times the
    median group's (a config with collapsed runs) is left out: its spread is its own. None
    without a group of two."""
    spreads = [(len(g), _mean_std(g)[1]) for g in groups if len(g) >= 2]
    if not spreads:
        return None
    variances = sorted(std**2 for _, std in spreads)
    middle = len(variances) // 2
    median = variances[middle] if len(variances) % 2 else (variances[middle - 1] + variances[middle]) / 2
    cap = POOL_SPREAD_RATIO * median if median > 0 else math.inf
    kept = [(n, std) for n, std in spreads if std**2 <= cap]
    df = sum(n - 1 for n, _ in kept)
    return PooledSpread(math.sqrt(math.fsum((n - 1) * std**2 for n, std in kept) / df), df)


def spread_above(values: Sequence[float], pool: PooledSpread) -> float:
    """One-sided p of "the values spread more than the pool" (the F test of their variance
    against the pooled one)."""
    _, std = _mean_std(values)
    ratio = std**2 / pool.std**2
    return float(_special().fdtrc(len(values) - 1, pool.df, ratio))


def skew_test(values: Sequence[float]):  # type: ignore[no-untyped-def]
    """D'Agostino's test of a left skew (`scipy.stats.skewtest(alternative="less")`; 8+ values)."""
    return _sps().skewtest(values, alternative="less")


@dataclass(frozen=True)
class Rate:
    successes: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float


@lru_cache(maxsize=65536)  # few distinct (successes, n) in a sweep: each computed once
def rate_bounds(successes: int, n: int, alpha: float) -> tuple[float, float]:
    """One-sided exact (Clopper-Pearson) lower and upper bounds of a binomial rate, each at 1 - alpha."""
    if n == 0:
        return 0.0, 1.0
    betaincinv = _special().betaincinv  # scipy.stats.beta.ppf(q, a, b) is betaincinv(a, b, q)
    low = 0.0 if successes == 0 else float(betaincinv(successes, n - successes + 1, alpha))
    high = 1.0 if successes == n else float(betaincinv(successes + 1, n - successes, 1 - alpha))
    return low, high


def success_rate(values: Sequence[float], threshold: float, confidence: float = 0.95) -> Rate:
    """Share of values >= threshold, with its two-sided exact interval."""
    return success_count(sum(1 for v in values if v >= threshold), len(values), confidence)


@lru_cache(maxsize=65536)  # (immutable: one per count, shared by the configs that have it)
def success_count(k: int, n: int, confidence: float = 0.95) -> Rate:
    """`k` successes of `n`, with the rate's two-sided exact interval."""
    if n == 0:
        return Rate(0, 0, None, None, None, confidence)
    low, high = rate_bounds(k, n, (1 - confidence) / 2)
    return Rate(k, n, k / n, low, high, confidence)


def welch_greater(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided Welch p-value that mean(a) > mean(b) (`ttest_ind(a, b, equal_var=False,
    alternative="greater")`, without its overhead: racing calls it per config per look); 1 with
    fewer than two values on a side."""
    if len(a) < 2 or len(b) < 2:
        return 1.0
    (mean_a, sd_a), (mean_b, sd_b) = _mean_std(a), _mean_std(b)
    var_a, var_b = sd_a**2 / len(a), sd_b**2 / len(b)
    if var_a + var_b == 0:  # no spread on either side: nothing to test a difference against
        return 1.0
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    return float(_special().stdtr(df, -(mean_a - mean_b) / math.sqrt(var_a + var_b)))  # t.sf
