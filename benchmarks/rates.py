"""The simulations' rates as the tables in RESULTS.md print them: a share of replications with its
Clopper-Pearson 95% interval, in percent (imported by the benchmark scripts beside it)."""

from __future__ import annotations

from scipy.stats import binomtest

__all__ = ["cell", "ci"]


def ci(hits: int, n: int) -> str:
    """The Clopper-Pearson 95% interval of a rate, in percent: "[low, high]"."""
    interval = binomtest(hits, n).proportion_ci(0.95)
    return f"[{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def cell(hits: int, n: int) -> str:
    """The rate and its interval: "12.3% [10.1, 14.8]"."""
    return f"{100 * hits / n:.1f}% {ci(hits, n)}"
