"""The data of the report's plots: pure functions of the Analysis (hotlap.report.plots draws them)."""

from __future__ import annotations

import heapq
import math
from typing import Any, NamedTuple

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import ConfigReport, short_value
from hotlap.metrics import Metric
from hotlap.report.rows import cached, shown_costs

__all__ = [
    "MAX_DISTRIBUTIONS",
    "MAX_ERRORBARS",
    "PlotPoint",
    "accuracy_time_points",
    "box_stats",
    "clip",
    "distinct_keys",
    "full_reports",
    "pareto_front",
    "plotted_cost",
    "screening_and_verification",
    "short_label",
    "with_bars",
]

MAX_DISTRIBUTIONS = 30  # a box per config; beyond this the figure stops being readable
# Confidence intervals drawn per config, at most: beyond a few hundred crosses a plot is ink, and
# matplotlib takes a second per few thousand. The rest are drawn as dots (or sampled).
MAX_ERRORBARS = 300


class PlotPoint(NamedTuple):  # (a tuple: 50,000 made in a quarter of a frozen dataclass' time)
    config_id: str
    label: str  # short: the variant's name, else key=value with values to 4 significant digits
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    time: float
    time_low: float
    time_high: float
    decision: str | None
    is_baseline: bool
    recommended: bool


def full_reports(analysis: Analysis) -> list[ConfigReport]:
    """The full-fidelity configs with a done run, in report order: found once per analysis for
    every plot (callers never modify the list)."""
    return cached("full", analysis, lambda: [r for r in analysis.configs if r.fidelity == "full" and r.n > 0])


def short_label(report: ConfigReport, width: int = 24, keys: dict[str, str] | None = None) -> str:
    """What a plot calls a config: its variant's name, else its swept values (4 significant
    digits; `keys`: only these, by a short name: `distinct_keys`), else baseline; cut to `width`
    characters."""
    variant = report.params.get("variant")
    if variant:
        text = str(variant)
    elif keys is not None and any(k in report.params for k in keys):
        text = ", ".join(
            f"{short}={short_value(report.params[k])}" for k, short in keys.items() if k in report.params
        )
    else:
        text = report.label()
    if report.is_baseline and text != "baseline":
        text = "baseline" if not report.params else f"{text} (baseline)"
    return text if len(text) <= width else text[: width - 1] + "…"


def distinct_keys(reports: list[ConfigReport]) -> dict[str, str]:
    """The swept keys whose values differ between these configs, each by the shortest dotted
    suffix no other key shares (`quant.conv.weight_bits` -> `conv.weight_bits`, `quant.all.act_bits`
    -> `act_bits`): plot labels that say where configs differ and nothing else."""
    values: dict[str, set[str]] = {}
    for report in reports:
        for key, value in report.params.items():
            values.setdefault(key, set()).add(repr(value))
    keys = [k for k, seen in values.items() if len(seen) > 1 and k != "variant"]
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if not any(
                other != key and (other == suffix or other.endswith("." + suffix)) for other in values
            ):
                out[key] = suffix
                break
    return out


def clip(
    low: float | None, value: float, high: float | None, bounds: tuple[float, float]
) -> tuple[float, float]:
    """A CI's ends, defaulting to the value, inside the metric's range (no negative seconds, no
    accuracy above 100%)."""
    lo = value if low is None else low
    hi = value if high is None else high
    return max(bounds[0], min(lo, value)), min(bounds[1], max(hi, value))


def plotted_cost(analysis: Analysis) -> Metric:
    """The cost the accuracy is plotted against: the one the objective minimizes where it names
    one (a second objective, or the target's cost); else the first cost metric the spec measures or
    bounds whose means differ between configs (a quantization study's avg_bits, which it bounds
    rather than minimizes); else the time the analysis ranks by."""
    spec = analysis.spec
    if spec.target is not None or len(spec.objective or []) >= 2:
        return analysis.cost
    reports = full_reports(analysis)
    for name in shown_costs(analysis):
        means = {mean for r in reports if name in r.metrics and (mean := r.mean(name)) is not None}
        if len(means) > 1:
            return spec.metric(name)
    return analysis.cost


def accuracy_time_points(analysis: Analysis, cost: Metric | None = None) -> list[PlotPoint]:
    """A point per full-fidelity config: mean quality against mean `cost` (default: the
    analysis' cost). The points the plot draws with their CIs (`with_bars`) carry their CIs and
    their names (by the keys whose values differ among them: `distinct_keys`); the rest, drawn as
    dots, their means only (CI ends at the mean, no name): a search of 50,000 configs summarizes
    and names 300 of them."""
    cost = analysis.cost if cost is None else cost
    quality, spent = analysis.quality_metric, cost.name
    judged = analysis.target is not None
    chosen = analysis.recommendation.config
    points, owners = [], []
    for report in full_reports(analysis):  # (one pass, no call per config but the means)
        if spent not in report.metrics:
            continue
        accuracy, time = report.mean(quality), report.mean(spent)
        if accuracy is None or time is None:  # a metric its runs did not report: no point
            continue
        verdict = report.verdict
        decision = verdict.decision if verdict is not None and judged else None
        config_id = report.config_id
        owners.append(report)
        points.append(
            PlotPoint(
                config_id,
                "",
                accuracy,
                accuracy,
                accuracy,
                time,
                time,
                time,
                decision,
                report.is_baseline,
                config_id == chosen,
            )
        )
    if not points:
        return points
    sign = analysis.quality.sign
    barred = heapq.nsmallest(  # (`sorted(...)[:MAX_ERRORBARS]`, without sorting 50,000)
        MAX_ERRORBARS, range(len(points)), key=lambda i: _bar_rank(points[i], sign)
    )
    reports = [owners[i] for i in barred]
    keys = distinct_keys(reports)
    quality_range = (0.0, 1.0) if analysis.quality.kind == "fraction" else (-math.inf, math.inf)
    cost_range = (0.0, math.inf) if cost.kind in ("time", "cost", "count") else (-math.inf, math.inf)
    for i, report in zip(barred, reports, strict=True):  # their CIs and names
        point = points[i]
        acc, took = report.metrics[quality], report.metrics[spent]
        acc_low, acc_high = clip(acc.ci_low, point.accuracy, acc.ci_high, quality_range)
        time_low, time_high = clip(took.ci_low, point.time, took.ci_high, cost_range)
        label = short_label(report, 40, keys)
        points[i] = point._replace(
            label=label, accuracy_low=acc_low, accuracy_high=acc_high, time_low=time_low, time_high=time_high
        )
    return points


def pareto_front(
    points: list[PlotPoint], quality_sign: float = 1.0, cost_sign: float = -1.0
) -> list[PlotPoint]:
    """Points no other point beats on both the quality and the cost (each in its metric's
    direction: by default higher accuracy, lower time), sorted by cost. O(n log n): one pass over
    the points from the best cost down, keeping the best quality seen so far (with NumPy: a search
    of 50,000 configs has as many points)."""
    import numpy as np

    if not points:
        return []
    quality = quality_sign * np.fromiter((p.accuracy for p in points), float, len(points))
    cost = cost_sign * np.fromiter((p.time for p in points), float, len(points))
    if np.isnan(quality).any() or np.isnan(cost).any():
        return _pareto_front_of(points, quality.tolist(), cost.tolist())
    order = np.lexsort((-quality, -cost))  # best cost first; within it, best quality; else as given
    q, c = quality[order], cost[order]
    opens = np.ones(len(order), dtype=bool)  # the first point of its cost: the best of its quality
    opens[1:] = c[1:] != c[:-1]
    best_before = np.maximum.accumulate(np.where(opens, q, -np.inf))  # best of strictly better costs
    beats = opens.copy()
    beats[1:] &= q[1:] > best_before[:-1]
    beats[0] = q[0] > -np.inf
    # Its ties (the same quality and cost) are on the front with it.
    same = np.zeros(len(order), dtype=bool)
    same[1:] = (c[1:] == c[:-1]) & (q[1:] == q[:-1])
    run = np.cumsum(~same) - 1  # each point's run of ties
    on_front = beats[np.flatnonzero(~same)][run]
    return sorted((points[i] for i in order[on_front].tolist()), key=lambda p: p.time)


def _pareto_front_of(points: list[PlotPoint], quality: list[float], cost: list[float]) -> list[PlotPoint]:
    """`pareto_front` in Python, over oriented values (where one is NaN: NumPy orders NaN apart)."""
    by_key: dict[tuple[float, float], list[PlotPoint]] = {}
    for p, q, c in zip(points, quality, cost, strict=True):
        by_key.setdefault((q, c), []).append(p)
    front: list[PlotPoint] = []
    best_quality = -math.inf  # the best quality among keys of a strictly better cost
    keys = sorted(by_key, key=lambda k: (-k[1], -k[0]))  # best cost first; within it, best quality
    for i, (q, c) in enumerate(keys):
        if i > 0 and keys[i - 1][1] == c:
            continue  # beaten on quality by the first key of its cost
        if q > best_quality:
            front += by_key[(q, c)]
            best_quality = q
    return sorted(front, key=lambda p: p.time)


def screening_and_verification(analysis: Analysis) -> list[dict[str, Any]]:
    """Each config verification ran (the candidates and the baseline): its quality's mean, CI and n
    in the screening (the search, at full fidelity) and on the fresh seeds; the winner's curse is
    the drop between them. Empty without verification runs."""
    if not analysis.verification:
        return []
    screening = {r.config_id: r for r in full_reports(analysis)}
    rows = []
    for verified in analysis.verification:
        screened = screening.get(verified.config_id)
        if screened is None or verified.n == 0:
            continue

        def stats(report: ConfigReport) -> tuple[float | None, float | None, float | None, int]:
            summary = report.metrics[analysis.quality_metric]
            return summary.mean, summary.ci_low, summary.ci_high, report.n

        rows.append(
            {
                "label": short_label(verified),
                "screening": stats(screened),
                "verification": stats(verified),
                "is_baseline": verified.is_baseline,
                "verified": verified.config_id == analysis.verified,
            }
        )
    return rows


def with_bars(points: list[PlotPoint], sign: float) -> tuple[list[PlotPoint], list[PlotPoint]]:
    """The points drawn with their CIs (the recommendation, the baseline, then the best by the
    objective, MAX_ERRORBARS in all) and the rest."""
    if len(points) <= MAX_ERRORBARS:
        return points, []
    ranked = sorted(points, key=lambda p: _bar_rank(p, sign))
    return ranked[:MAX_ERRORBARS], ranked[MAX_ERRORBARS:]


def _bar_rank(point: PlotPoint, sign: float) -> tuple[bool, float]:
    """`with_bars`' order: the recommendation and the baseline, then the best quality."""
    return (not (point.recommended or point.is_baseline), -sign * point.accuracy)


def box_stats(data: list[list[float]]) -> dict[str, Any]:
    """Per box, as matplotlib's box plot: quartiles, median, whiskers at the furthest value within
    1.5 IQR of the box (arrays `q1`, `median`, `q3`, `low`, `high`)."""
    import numpy as np

    arrays = [np.asarray(values, dtype=float) for values in data]
    q1, median, q3 = np.array([np.percentile(a, [25, 50, 75]) for a in arrays]).T
    reach = 1.5 * (q3 - q1)
    low = np.array([a[a >= bound].min() for a, bound in zip(arrays, q1 - reach, strict=True)])
    high = np.array([a[a <= bound].max() for a, bound in zip(arrays, q3 + reach, strict=True)])
    return {"q1": q1, "median": median, "q3": q3, "low": low, "high": high}
