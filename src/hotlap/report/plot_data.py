"""The data of the report's plots: pure functions of the Analysis (hotlap.report.plots draws them)."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.importance import BINS, value_groups
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
    "key_panels",
    "one_key_series",
    "pareto_front",
    "plotted_cost",
    "screening_and_verification",
    "short_label",
    "two_key_grid",
    "with_bars",
]

MAX_DISTRIBUTIONS = 30  # a box per config; beyond this the figure stops being readable
# Confidence intervals drawn per config, at most: beyond a few hundred crosses a plot is ink, and
# matplotlib takes a second per few thousand. The rest are drawn as dots (or sampled).
MAX_ERRORBARS = 300


@dataclass(frozen=True)
class PlotPoint:
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
    located = []
    for report in full_reports(analysis):
        if cost.name not in report.metrics:
            continue
        accuracy, time = report.mean(analysis.quality_metric), report.mean(cost.name)
        if accuracy is None or time is None:  # a metric its runs did not report: no point
            continue
        decision = report.verdict.decision if report.verdict is not None and analysis.target else None
        recommended = report.config_id == analysis.recommendation.config
        located.append((report, accuracy, time, decision, recommended))
    sign = analysis.quality.sign
    ranked = heapq.nsmallest(  # (`sorted(...)[:MAX_ERRORBARS]`, without sorting 50,000)
        MAX_ERRORBARS, located, key=lambda x: _bar_rank(x[4], x[0].is_baseline, x[1], sign)
    )
    barred = {id(x[0]) for x in ranked}
    keys = distinct_keys([x[0] for x in ranked])
    quality_range = (0.0, 1.0) if analysis.quality.kind == "fraction" else (-math.inf, math.inf)
    cost_range = (0.0, math.inf) if cost.kind in ("time", "cost", "count") else (-math.inf, math.inf)
    points = []
    for report, accuracy, time, decision, recommended in located:
        label, acc_low, acc_high, time_low, time_high = "", accuracy, accuracy, time, time
        if id(report) in barred:
            acc, spent = report.metrics[analysis.quality_metric], report.metrics[cost.name]
            acc_low, acc_high = clip(acc.ci_low, accuracy, acc.ci_high, quality_range)
            time_low, time_high = clip(spent.ci_low, time, spent.ci_high, cost_range)
            label = short_label(report, 40, keys)
        points.append(
            PlotPoint(
                report.config_id,
                label,
                accuracy,
                acc_low,
                acc_high,
                time,
                time_low,
                time_high,
                decision,
                report.is_baseline,
                recommended,
            )
        )
    return points


def pareto_front(
    points: list[PlotPoint], quality_sign: float = 1.0, cost_sign: float = -1.0
) -> list[PlotPoint]:
    """Points no other point beats on both the quality and the cost (each in its metric's
    direction: by default higher accuracy, lower time), sorted by cost. O(n log n): one pass over
    the points from the best cost down, keeping the best quality seen so far."""
    by_key: dict[tuple[float, float], list[PlotPoint]] = {}
    for p in points:  # oriented so that larger is better on both
        by_key.setdefault((quality_sign * p.accuracy, cost_sign * p.time), []).append(p)
    front: list[PlotPoint] = []
    best_quality = -math.inf  # the best quality among keys of a strictly better cost
    keys = sorted(by_key, key=lambda k: (-k[1], -k[0]))  # best cost first; within it, best quality
    for i, (quality, cost) in enumerate(keys):
        if i > 0 and keys[i - 1][1] == cost:
            continue  # beaten on quality by the first key of its cost
        if quality > best_quality:
            front += by_key[(quality, cost)]
            best_quality = quality
    return sorted(front, key=lambda p: p.time)


def one_key_series(analysis: Analysis) -> tuple[str, list[dict[str, Any]]] | None:
    """(key, rows of value / mean / CI / success rate / n, and the paired difference from the
    baseline with its CI) for a sweep over exactly one numeric key."""
    keys = analysis.spec.swept_keys
    if len(keys) != 1:
        return None
    key = keys[0]
    rows = []
    for report in full_reports(analysis):
        value = report.value(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        acc = report.metrics[analysis.quality_metric]
        vs = report.vs_baseline  # the paired difference from the baseline, where it was compared
        rows.append(
            {
                "value": value,
                "mean": acc.mean,
                "ci_low": acc.ci_low,
                "ci_high": acc.ci_high,
                "success_rate": report.success.rate if report.success else None,
                "is_baseline": report.is_baseline,
                "n": report.n,
                "diff": 0.0 if report.is_baseline else (vs.diff if vs is not None else None),
                "diff_low": vs.ci_low if vs is not None and not report.is_baseline else None,
                "diff_high": vs.ci_high if vs is not None and not report.is_baseline else None,
                "paired": report.is_baseline or (vs is not None and vs.test == "paired"),
            }
        )
    rows.sort(key=lambda r: r["value"])
    return (key, rows) if len(rows) >= 2 else None


MAX_PANELS = 6  # swept keys drawn as panels, at most
MAX_CELLS = 400  # a heatmap's cells, at most (20 x 20)


def key_panels(analysis: Analysis) -> list[tuple[str, list[dict[str, Any]]]]:
    """For a sweep over two or more keys: per swept key (variants included), each value's configs'
    mean quality: the best, the mean and the worst of them, and how many configs (the grid read
    one key at a time). Empty for fewer than two keys or more than MAX_PANELS."""
    keys = [k for k in analysis.spec.swept_keys]
    if not 2 <= len(keys) <= MAX_PANELS:
        return []
    quality = analysis.quality_metric
    measured = [  # each config's mean read once for every panel
        (r.params, mean)
        for r in full_reports(analysis)
        if not r.is_baseline and (mean := r.mean(quality)) is not None
    ]
    panels = []
    for key in keys:
        pairs = [(params[key], mean) for params, mean in measured if key in params]
        rows = _panel_rows(pairs, analysis.quality.sign)
        if len(rows) >= 2:
            panels.append((key, rows))
    return panels


def _panel_rows(pairs: list[tuple[Any, float]], sign: float) -> list[dict[str, Any]]:
    """A panel's points: per value (a number range of many values: per quantile bin, labelled by its
    range), the configs' best, mean and worst quality and their count, in value order."""
    groups: dict[Any, list[float]] = {}
    labels: dict[Any, str] = {}
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v, _ in pairs)
    if numeric and len({v for v, _ in pairs}) > BINS:  # a sampled range: every config its own value
        codes = value_groups([v for v, _ in pairs])
        members: dict[int, list[float]] = {}
        for code, (value, mean) in zip(codes.tolist(), pairs, strict=True):
            members.setdefault(code, []).append(value)
            groups.setdefault(code, []).append(mean)
        for code, values in members.items():
            labels[code] = f"{min(values):.3g}-{max(values):.3g}"
        groups = {min(members[code]): means for code, means in groups.items()}
        labels = {min(members[code]): label for code, label in labels.items()}
    else:
        for value, mean in pairs:
            groups.setdefault(value, []).append(mean)
    rows = [
        {
            "value": value,
            "label": labels.get(value, short_value(value)),
            "best": max(means, key=lambda m: sign * m),
            "worst": min(means, key=lambda m: sign * m),
            "mean": sum(means) / len(means),
            "configs": len(means),
        }
        for value, means in groups.items()
    ]
    rows.sort(
        key=lambda r: (
            isinstance(r["value"], str),
            r["value"] if not isinstance(r["value"], str) else 0,
            str(r["value"]),
        )
    )
    return rows


def two_key_grid(analysis: Analysis) -> tuple[str, str, list[Any], list[Any], list[list[Any]]] | None:
    """For a grid over exactly two keys: (row key, column key, row values, column values, cells),
    each cell the config's mean quality and decision (None where no config ran)."""
    keys = analysis.spec.swept_keys
    if len(keys) != 2:
        return None
    row_key, col_key = keys
    reports, row_values, col_values = [], set(), set()
    for r in full_reports(analysis):
        params = r.params
        if r.is_baseline or row_key not in params or col_key not in params:
            continue
        reports.append(r)
        row_values.add(params[row_key])
        col_values.add(params[col_key])
        if len(row_values) * len(col_values) > MAX_CELLS:
            return None  # (told at the first configs of a random search, not after all 50,000)
    if not reports or min(len(row_values), len(col_values)) < 2:
        return None
    rows, cols = sorted(row_values, key=str), sorted(col_values, key=str)
    numeric = all(isinstance(v, int | float) for v in rows), all(isinstance(v, int | float) for v in cols)
    rows = sorted(rows) if numeric[0] else rows
    cols = sorted(cols) if numeric[1] else cols
    cells: list[list[Any]] = [[None] * len(cols) for _ in rows]
    for report in reports:
        mean = report.mean(analysis.quality_metric)
        decision = report.verdict.decision if report.verdict is not None and analysis.target else None
        cells[rows.index(report.params[row_key])][cols.index(report.params[col_key])] = (
            mean,
            decision,
            report.n,
        )
    return row_key, col_key, rows, cols, cells


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
    ranked = sorted(points, key=lambda p: _bar_rank(p.recommended, p.is_baseline, p.accuracy, sign))
    return ranked[:MAX_ERRORBARS], ranked[MAX_ERRORBARS:]


def _bar_rank(recommended: bool, is_baseline: bool, accuracy: float, sign: float) -> tuple[bool, float]:
    """`with_bars`' order: the recommendation and the baseline, then the best quality."""
    return (not (recommended or is_baseline), -sign * accuracy)


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
