"""Where configs matter: each swept key's share of the keys' main effects on the configs' mean
quality (the metric the sweep judges: the target's, else the first objective), and how much of the
variation in those means the main effects explain together (`explained`: the shares sum to 1 even
over noise, so this says whether to read them), as a first-order functional
ANOVA over one value per config (its mean, never a single seed's value: the seeds' noise would pass
for importance). Configs pruned or without a finished run are left out.

A key's main effect is the variance of the configs' means between the groups of its values (a
number range cut at up to BINS quantiles, anything else by value), less what that many groups show
by chance (their number less one times the mean square within them, as omega squared does); the
shares are the main effects over their sum. Computed directly with NumPy: 0.3 s at 50,000
configs on a 2-core VM (most of it reading each config's mean), 5 ms at 1,000; Optuna's fANOVA
evaluator imports scikit-learn (4 s here) and fits a forest that took 55 s over 2,000 configs.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import ConfigReport

__all__ = [
    "BINS",
    "MAX_LINES",
    "explained",
    "importance_of",
    "importances",
    "judged_configs",
    "main_effects",
    "parallel_axes",
    "swept_keys",
    "value_groups",
]

MIN_CONFIGS = 4  # fewer: no key's share can be told from noise
BINS = 10  # groups a number range is cut into (at its quantiles)
MAX_TICKS = 8  # labelled values on an axis of parallel coordinates
MAX_LINES = 500  # configs drawn in parallel coordinates: the first in report order (the best)


def judged_configs(analysis: Analysis, limit: int | None = None) -> list[ConfigReport]:
    """The full-fidelity search configs with a finished run, never pruned, in report order (the
    first `limit` of them: found without reading the rest)."""
    found = (
        r
        for r in analysis.configs
        if r.fidelity == "full" and r.stage == "search" and r.n > 0 and r.pruned is None
    )
    return list(itertools.islice(found, limit))


def swept_keys(analysis: Analysis, reports: list[ConfigReport]) -> list[str]:
    """The swept keys that take two values or more among `reports`."""
    keys = []
    for key in analysis.spec.swept_keys:
        first = repr(reports[0].value(key)) if reports else None
        if any(repr(r.value(key)) != first for r in reports):  # (stops at the first other value)
            keys.append(key)
    return keys


def _column(reports: list[ConfigReport], key: str) -> list[Any]:
    """Each config's value of a swept key (`ConfigReport.value`: its own, else its resolved
    config's), with no call per config where it was swept (50,000 configs, two keys or more)."""
    return [r.params[key] if key in r.params else r.value(key) for r in reports]


def value_groups(values: list[Any]) -> np.ndarray:
    """Each value's group: its quantile bin for numbers with more than BINS distinct values, else
    the value itself."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and len(set(values)) > BINS:
        x = np.asarray(values, dtype=float)
        edges = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)[1:-1]))
        return np.searchsorted(edges, x, side="right")
    _, codes = np.unique(np.asarray([repr(v) for v in values]), return_inverse=True)
    return codes


def main_effects(columns: dict[str, list[Any]], y: np.ndarray) -> dict[str, float]:
    """Key -> its main effect on `y` (the between-groups sum of squares less its chance level, at
    least 0), for the keys' `columns` of values aligned with `y`."""
    total = float(((y - y.mean()) ** 2).sum())
    n = len(y)
    found = {}
    for key, values in columns.items():
        codes = value_groups(values)
        counts = np.bincount(codes)
        used = counts > 0
        means = np.bincount(codes, weights=y)[used] / counts[used]
        between = float((counts[used] * (means - y.mean()) ** 2).sum())
        groups = int(used.sum())
        within = (total - between) / (n - groups) if n > groups else 0.0
        found[key] = max(0.0, between - (groups - 1) * within)
    return found


def importances(analysis: Analysis) -> dict[str, float]:
    """Swept key -> its importance (the shares sum to 1), largest first; empty for fewer than two
    keys that vary, fewer than MIN_CONFIGS configs, or no effect above chance."""
    return importance_of(analysis)[0]


def importance_of(analysis: Analysis) -> tuple[dict[str, float], float | None]:
    """`importances`, and the share of the variation in the configs' means that the keys' main
    effects explain together (0 to 1; None where there are no importances): the shares split
    that much. Near 0 the keys' effects are noise, however the shares split it (a search whose
    configs differ by chance alone: 0.01%)."""
    name = analysis.quality_metric
    reports, kept = [], []
    for report in judged_configs(analysis):  # (the summaries' means)
        mean = report.mean(name)
        if mean is not None and math.isfinite(mean):
            reports.append(report)
            kept.append(mean)
    keys = swept_keys(analysis, reports)
    if len(keys) < 2 or len(reports) < MIN_CONFIGS:
        return {}, None
    y = np.asarray(kept, dtype=float)
    columns = {k: _column(reports, k) for k in keys}
    effects = main_effects(columns, y)
    total = sum(effects.values())
    if total <= 0:
        return {}, None
    shares = dict(sorted(((k, v / total) for k, v in effects.items()), key=lambda kv: -kv[1]))
    return shares, explained(effects, y)


def explained(effects: dict[str, float], y: np.ndarray) -> float:
    """The share of `y`'s variation (its sum of squares about the mean) that the main `effects`
    (`main_effects`) explain together, at most 1."""
    variation = float(((y - y.mean()) ** 2).sum())
    return min(1.0, sum(effects.values()) / variation) if variation > 0 else 0.0


def parallel_axes(
    analysis: Analysis,
) -> tuple[list[tuple[str, list[tuple[float, str]]]], list[tuple[list[float], float]]]:
    """A parallel-coordinates view of the configs: its axes (each swept key that varies, then the
    quality's mean), each with its ticks (position in [0, 1], label); and one line per config, its
    positions on the axes and its mean. Numbers are placed by value (by log value on a log range),
    anything else by its order of first appearance. Empty under two varying keys."""
    from hotlap.spec.fields import RangeSpec

    quality = analysis.quality_metric
    reports = [r for r in judged_configs(analysis, MAX_LINES) if r.mean(quality) is not None]
    keys = swept_keys(analysis, reports)
    if len(keys) < 2 or len(reports) < 2:
        return [], []
    axes: list[tuple[str, list[tuple[float, str]]]] = []
    columns: list[list[float]] = []
    for key in keys:
        values = _column(reports, key)
        entry = analysis.spec.space.get(key)
        logged = isinstance(entry, RangeSpec) and entry.log
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) and (
            not logged or all(v > 0 for v in values)
        ):
            scaled = [math.log(v) if logged else float(v) for v in values]
            low, high = min(scaled), max(scaled)
            span = high - low or 1.0
            column = [(s - low) / span for s in scaled]
            shown = sorted(set(zip(column, values, strict=True)))
        else:
            order = list(dict.fromkeys(repr(v) for v in values))
            step = 1 / max(1, len(order) - 1)
            column = [order.index(repr(v)) * step for v in values]
            shown = sorted(set(zip(column, values, strict=True)), key=lambda t: t[0])
        if len(shown) > MAX_TICKS:  # many values (a sampled range): evenly spread ones
            step = (len(shown) - 1) / (MAX_TICKS - 1)
            shown = [shown[round(i * step)] for i in range(MAX_TICKS)]
        ticks = [(position, _short(value)) for position, value in shown]
        axes.append((key, ticks))
        columns.append(column)
    means = [float(r.mean(quality)) for r in reports]  # type: ignore[arg-type]
    low, high = min(means), max(means)
    span = high - low or 1.0
    columns.append([(m - low) / span for m in means])
    metric = analysis.spec.metric(quality)
    axes.append((f"{metric.name} (mean)", [(0.0, metric.format(low)), (1.0, metric.format(high))]))
    lines = [([column[i] for column in columns], means[i]) for i in range(len(reports))]
    return axes, lines


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
