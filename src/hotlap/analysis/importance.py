"""Where configs matter: each swept key's share of the variation in the configs' mean quality (the
metric the sweep judges: the target's, else the first objective), by Optuna's fANOVA evaluator over
one trial per config (its mean, never a single seed's value: the seeds' noise would pass for
importance). Configs pruned or without a finished run are left out.
"""

from __future__ import annotations

import math
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import ConfigReport

__all__ = ["MAX_CONFIGS", "importances", "judged_configs", "parallel_axes", "swept_keys"]

MIN_CONFIGS = 4  # fewer: no key's share can be told from noise
MAX_CONFIGS = 2000  # more: the forest's cost grows past a report's (the first ones, in report order)


def judged_configs(analysis: Analysis) -> list[ConfigReport]:
    """The full-fidelity search configs with a finished run, never pruned, in report order."""
    return [
        r
        for r in analysis.configs
        if r.fidelity == "full" and r.stage == "search" and r.n > 0 and r.pruned is None
    ][:MAX_CONFIGS]


def swept_keys(analysis: Analysis, reports: list[ConfigReport]) -> list[str]:
    """The swept keys that take two values or more among `reports`."""
    keys = []
    for key in analysis.spec.swept_keys:
        values = {repr(r.params.get(key, r.config.get(key))) for r in reports}
        if len(values) > 1:
            keys.append(key)
    return keys


def importances(analysis: Analysis) -> dict[str, float]:
    """Swept key -> its importance (the shares sum to 1), largest first; empty for fewer than two
    keys that vary or fewer than MIN_CONFIGS configs."""
    reports = judged_configs(analysis)
    keys = swept_keys(analysis, reports)
    if len(keys) < 2 or len(reports) < MIN_CONFIGS:
        return {}  # (before importing Optuna: a one-key report starts without it)
    import optuna

    from hotlap.strategies.samplers import space_distributions

    metric = analysis.spec.metric(analysis.quality_metric)
    distributions = {k: d for k, d in space_distributions(analysis.spec).items() if k in keys}
    if set(distributions) != set(keys):  # (a key swept by the recipe itself: no distribution)
        return {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=metric.direction)
    for report in reports:
        mean = report.metrics[metric.name].mean
        if mean is None or not math.isfinite(mean):
            continue
        params: dict[str, Any] = {k: report.params.get(k, report.config.get(k)) for k in keys}
        try:
            trial = optuna.trial.create_trial(params=params, distributions=distributions, value=mean)
        except ValueError:  # a value outside its distribution (a baseline's own value)
            continue
        study.add_trial(trial)
    if len(study.trials) < MIN_CONFIGS:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    found = optuna.importance.get_param_importances(study, evaluator=evaluator, params=keys)
    return {key: float(value) for key, value in found.items()}


def parallel_axes(
    analysis: Analysis,
) -> tuple[list[tuple[str, list[tuple[float, str]]]], list[tuple[list[float], float]]]:
    """A parallel-coordinates view of the configs: its axes (each swept key that varies, then the
    quality's mean), each with its ticks (position in [0, 1], label); and one line per config, its
    positions on the axes and its mean. Numbers are placed by value (by log value on a log range),
    anything else by its order of first appearance. Empty under two varying keys."""
    from hotlap.spec.fields import RangeSpec

    quality = analysis.quality_metric
    reports = [r for r in judged_configs(analysis) if r.metrics[quality].mean is not None]
    keys = swept_keys(analysis, reports)
    if len(keys) < 2 or len(reports) < 2:
        return [], []
    axes: list[tuple[str, list[tuple[float, str]]]] = []
    columns: list[list[float]] = []
    for key in keys:
        values = [r.params.get(key, r.config.get(key)) for r in reports]
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
        ticks = [(position, _short(value)) for position, value in shown][:12]
        axes.append((key, ticks))
        columns.append(column)
    means = [float(r.metrics[quality].mean) for r in reports]  # type: ignore[arg-type]
    low, high = min(means), max(means)
    span = high - low or 1.0
    columns.append([(m - low) / span for m in means])
    metric = analysis.spec.metric(quality)
    axes.append((f"{metric.name} (mean)", [(0.0, metric.format(low)), (1.0, metric.format(high))]))
    lines = [([column[i] for column in columns], means[i]) for i in range(len(reports))]
    return axes, lines


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
