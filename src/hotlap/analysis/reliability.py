"""What makes a sweep's numbers unreliable, said in the report: times that vary too much from run
to run to rank configs, and judged values too skewed (or with outliers) for a t bound. Pure
computation over the analysis' config reports."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from hotlap.metrics import Metric

__all__ = ["MAX_SKEW", "MAX_TIME_CV", "OUTLIER_MADS", "skewed", "time_spread"]


MAX_SKEW = 1.0  # |sample skewness| beyond which a t bound on few runs is not to be trusted
OUTLIER_MADS = 4.0  # a run this many robust standard deviations from its config's median


def skewed(reports: Sequence[Any], quality: Metric) -> tuple[str, ...]:
    """A warning when the judged metric's runs are strongly skewed or hold outliers (8+ runs):
    airbench's accuracies are left-skewed (a few runs land far low), and the t bound on a skewed
    sample passes a config at the target more often than its alpha says. Vectorized over the
    configs with equally many runs (a report may hold thousands)."""
    import numpy as np

    by_n: dict[int, list[tuple[str, list[float]]]] = defaultdict(list)
    for report in reports:
        values = list(report.values.get(quality.name, {}).values())
        if len(values) >= 8:
            by_n[len(values)].append((_named(report), values))
    flagged = []
    for n, members in by_n.items():
        x = np.asarray([values for _, values in members], dtype=float)
        d = x - x.mean(axis=1, keepdims=True)
        m2, m3 = (d**2).mean(axis=1), (d**3).mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lean = np.where(m2 > 0, m3 / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2), 0.0)  # adjusted G1
        median = np.median(x, axis=1, keepdims=True)
        mad = 1.4826 * np.median(np.abs(x - median), axis=1, keepdims=True)
        outliers = np.where(mad[:, 0] > 0, (np.abs(x - median) > OUTLIER_MADS * mad).sum(axis=1), 0)
        for (config_id, _), g1, out in zip(members, lean, outliers, strict=True):
            if abs(g1) > MAX_SKEW or out:
                flagged.append(
                    f"{config_id} (skewness {g1:+.1f}, {int(out)} outlier{'s' if out != 1 else ''})"
                )
    if not flagged:
        return ()
    shown = ", ".join(flagged[:5]) + (f" and {len(flagged) - 5} more" if len(flagged) > 5 else "")
    return (
        f"Warning: {quality.name} is strongly skewed or has outliers in {shown}: the t bounds assume roughly "
        "normal runs and may be optimistic there; give those configs more seeds (verification helps).",
    )


def _named(report: Any) -> str:
    """A config as a warning names it: its id, and its variant's name where it has one."""
    params = getattr(report, "params", None) or {}
    variant = params.get("variant")
    return f"{report.config_id} ({variant})" if variant else report.config_id


MAX_TIME_CV = 0.05  # run-to-run time spread beyond which timings cannot rank configs


def time_spread(reports: Sequence[Any], cost: Metric) -> tuple[str, ...]:
    """A warning when a config's times vary by more than MAX_TIME_CV of their mean (3+ runs): on a
    quiet machine a run's time varies by a percent or two; more means drift (thermal throttling,
    other jobs, a shared GPU), and time differences of a few percent are then not measurable."""
    if cost.kind != "time":
        return ()
    spreads = []
    for report in reports:
        summary = report.metrics.get(cost.name)
        if summary is not None and summary.n >= 3 and summary.mean and summary.std is not None:
            spreads.append((summary.std / abs(summary.mean), _named(report)))
    if not spreads or max(spreads)[0] <= MAX_TIME_CV:
        return ()
    worst, config_id = max(spreads)
    noisy = sum(1 for cv, _ in spreads if cv > MAX_TIME_CV)
    return (
        f"Warning: {cost.name} varies by up to {worst:.1%} of its mean from run to run ({config_id}; {noisy} of "
        f"{len(spreads)} configs above {MAX_TIME_CV:.0%}): the machine's speed drifted or other jobs ran. Times "
        "cannot rank configs a few percent apart; rerun on a quiet machine.",
    )
