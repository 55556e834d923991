"""The report's plots, drawn from their data (hotlap.report.plot_data: pure functions of the Analysis).

- accuracy_time: mean accuracy vs mean time per config, CI bars on both, the target line, the
  Pareto front (no other config is both more accurate and faster).
- distributions: every config's per-seed accuracies, with the target line.
- one_key: for a sweep over one key, mean accuracy with its CI and the success rate against it.
- best_so_far (`hotlap best-so-far`): the best objective found against the runs spent, per sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.report.plot_data import (
    MAX_DISTRIBUTIONS,
    MAX_ERRORBARS,
    PlotPoint,
    accuracy_time_points,
    box_stats,
    full_reports,
    one_key_series,
    pareto_front,
    plotted_cost,
    short_label,
    with_bars,
)

__all__ = ["draw_all", "draw_best_so_far"]

# --- drawing -------------------------------------------------------------------------------------

COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "undecided": "#9a6700", None: "#0969da"}


def draw_all(analysis: Analysis, directory: Path) -> list[Path]:
    """Draw every plot that applies into `directory` as PNG; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    cost = plotted_cost(analysis)
    points = accuracy_time_points(analysis, cost)
    series = one_key_series(analysis)
    # named for what it shows: accuracy_vs_time.png against a time, accuracy_vs_avg_bits.png ...
    name = f"accuracy_vs_{'time' if cost.kind == 'time' else cost.name}.png"
    same_cost = bool(points) and len({p.time for p in points}) == 1
    if points and not (same_cost and series is not None):
        written.append(_draw_accuracy_time(analysis, points, directory / name, cost))
        written.append(_draw_distributions(analysis, directory / "accuracy_distributions.png"))
    if series is not None:
        written.append(_draw_one_key(analysis, *series, directory / "by_key.png"))
        key, rows = series
        if all(r["diff"] is not None and r["paired"] for r in rows):
            # Configs evaluated on the same networks (a derived sweep's weightings): what they
            # measure is the paired difference from the baseline, far narrower than the means' CIs.
            written.append(_draw_paired(analysis, key, rows, directory / "paired_vs_baseline.png"))
    return written


def _draw_paired(analysis: Analysis, key: str, rows: list[dict[str, Any]], path: Path) -> Path:
    """Each value's mean paired difference from the baseline (same seeds, same networks) with its
    CI, n per point; zero is the baseline."""
    import matplotlib.pyplot as plt

    quality = analysis.quality
    unit = " (points)" if quality.percent else _unit(quality)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [r["value"] for r in rows]
    diffs = [quality.scaled(r["diff"]) for r in rows]
    lows = [
        quality.scaled(r["diff"] - (r["diff_low"] if r["diff_low"] is not None else r["diff"])) for r in rows
    ]
    highs = [
        quality.scaled((r["diff_high"] if r["diff_high"] is not None else r["diff"]) - r["diff"])
        for r in rows
    ]
    ax.axhline(0, color="#6e7781", linewidth=1, label="baseline")
    ax.errorbar(
        xs, diffs, yerr=[lows, highs], fmt="o-", color="#0969da", capsize=3, label="paired difference"
    )
    for x, y, row in zip(xs, diffs, rows, strict=True):
        ax.annotate(
            f"n={row['n']}", (x, y), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7
        )
    ax.set_xlabel(key)
    ax.set_ylabel(f"{quality.name} minus the baseline's{unit}, {analysis.spec.confidence:.0%} CI")
    ax.set_title(f"{quality.name} against {key}, paired with the baseline on the same seeds")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _unit(metric: Any) -> str:
    return f" ({metric.shown_unit})" if metric.shown_unit else ""


def _target_line(ax: Any, analysis: Analysis, horizontal: bool = True) -> None:
    if analysis.target is None or analysis.target.relative:  # a difference: no line on the values
        return
    value = analysis.quality.scaled(analysis.target.threshold)
    line = ax.axhline if horizontal else ax.axvline
    line(value, color="#cf222e", linestyle="--", linewidth=1, label=f"target {analysis.target.shown}")


def _save(fig: Any, path: Path) -> Path:
    from hotlap.io import atomic_write

    fig.tight_layout()
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=110))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _draw_accuracy_time(analysis: Analysis, points: list[PlotPoint], path: Path, cost: Any) -> Path:
    import matplotlib.pyplot as plt

    scale = analysis.quality.scaled

    fig, ax = plt.subplots(figsize=(7.5, 5))
    barred, dotted = with_bars(points, analysis.quality.sign)
    dots: dict[str | None, list[PlotPoint]] = {}
    for point in dotted:
        dots.setdefault(point.decision, []).append(point)
    for decision, members in dots.items():
        ax.scatter(
            [p.time for p in members],
            [scale(p.accuracy) for p in members],
            s=4,
            alpha=0.5,
            color=COLORS.get(decision, COLORS[None]),
            linewidths=0,
        )
    groups: dict[tuple[str | None, bool, bool], list[PlotPoint]] = {}
    for point in barred:  # one errorbar call per look, not per config (a sweep may hold thousands)
        groups.setdefault((point.decision, point.is_baseline, point.recommended), []).append(point)
    for (decision, is_baseline, recommended), members in groups.items():
        color = COLORS.get(decision, COLORS[None])
        ax.errorbar(
            [p.time for p in members],
            [scale(p.accuracy) for p in members],
            xerr=[[p.time - p.time_low for p in members], [p.time_high - p.time for p in members]],
            yerr=[
                [scale(p.accuracy - p.accuracy_low) for p in members],
                [scale(p.accuracy_high - p.accuracy) for p in members],
            ],
            fmt="s" if is_baseline else "o",
            color=color,
            markersize=8 if recommended else 5,
            linestyle="none",
            markeredgecolor="black" if recommended else color,
            capsize=2,
            linewidth=0.8,
        )
    kept = [p for p in points if p.config_id not in analysis.broken]  # constraints: off the front
    front = pareto_front(kept, analysis.quality.sign, cost.sign)
    ax.plot(
        [p.time for p in front],
        [scale(p.accuracy) for p in front],
        color="#6e7781",
        linewidth=1,
        label="Pareto front",
    )
    _target_line(ax, analysis)
    from matplotlib.lines import Line2D

    shown = {p.decision for p in points if p.decision is not None}
    handles = [
        Line2D([], [], marker="o", linestyle="none", color=COLORS[d], label=d)
        for d in ("pass", "undecided", "fail")
        if d in shown
    ]
    if any(p.is_baseline for p in points):
        handles.append(Line2D([], [], marker="s", linestyle="none", color="#6e7781", label="baseline"))
    if any(p.recommended for p in points):
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                color="white",
                markeredgecolor="black",
                markersize=8,
                label="recommended",
            )
        )
    _label_points(ax, barred, scale)
    ax.legend(
        handles=[*ax.get_legend_handles_labels()[0], *handles],
        loc="best",
        fontsize=8,
        framealpha=0.8,
    )
    ax.set_xlabel(f"mean {cost.name}{_unit(cost)}, {analysis.spec.confidence:.0%} CI")
    ax.set_ylabel(
        f"mean {analysis.quality_metric}{_unit(analysis.quality)}, {analysis.spec.confidence:.0%} CI"
    )
    title = f"{analysis.quality_metric} vs {cost.name} per config"
    if dotted:
        title += f"\n(CIs of the {len(barred)} best; {len(dotted)} more as dots)"
    ax.set_title(title, fontsize=10 if dotted else None)
    ax.grid(alpha=0.3)
    return _save(fig, path)


MAX_LABELS = 25  # configs named on the accuracy-time plot; the rest would be a blur of text


def _label_points(ax: Any, points: list[PlotPoint], scale: Any) -> None:
    """Name the points (the recommendation and the baseline first, then by accuracy), skipping a
    label that would overlap one already placed: a point's name is readable or absent."""
    ax.figure.canvas.draw()  # the axes' final limits, to measure in display space
    order = sorted(points, key=lambda p: (not p.recommended, not p.is_baseline, -p.accuracy))
    placed: list[Any] = []
    renderer = ax.figure.canvas.get_renderer()
    spots = (((5, 4), "left"), ((-5, 4), "right"), ((5, -11), "left"), ((-5, -11), "right"))
    for point in order[:MAX_LABELS]:
        for offset, align in spots:  # right of the point, else left, else below
            text = ax.annotate(
                point.label,
                (point.time, scale(point.accuracy)),
                textcoords="offset points",
                xytext=offset,
                ha=align,
                fontsize=7,
                color="#24292f",
            )
            box = text.get_window_extent(renderer).expanded(1.05, 1.2)
            inside = ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            text.remove()


def _boxes(ax: Any, data: list[list[float]]) -> None:
    """Box plots in four artists instead of matplotlib's seven per box: 30 boxes in a third of the
    time."""
    import numpy as np

    b = box_stats(data)
    at = np.arange(1, len(data) + 1)
    twice = np.concatenate([at, at])
    ax.bar(at, b["q3"] - b["q1"], bottom=b["q1"], width=0.5, fill=False, edgecolor="black", linewidth=1)
    ax.vlines(
        twice,
        np.concatenate([b["low"], b["q3"]]),
        np.concatenate([b["q1"], b["high"]]),
        color="black",
        linewidth=1,
    )
    ax.hlines(
        np.concatenate([b["low"], b["high"]]),
        twice - 0.12,
        twice + 0.12,
        color="black",
        linewidth=1,
    )
    ax.hlines(b["median"], at - 0.25, at + 0.25, color="#e36209", linewidth=1.5)
    ax.set_xlim(0.5, len(data) + 0.5)


def _draw_distributions(analysis: Analysis, path: Path) -> Path:
    import matplotlib.pyplot as plt

    scale = analysis.quality.scaled

    reports = full_reports(analysis)[:MAX_DISTRIBUTIONS]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(reports) + 2), 4.5))
    data = [[scale(v) for v in r.values[analysis.quality_metric].values()] for r in reports]
    _boxes(ax, data)
    ax.scatter(
        [i for i, values in enumerate(data, start=1) for _ in values],
        [v for values in data for v in values],
        s=8,
        alpha=0.6,
        color="#0969da",
    )
    ax.set_xticks(range(1, len(reports) + 1))
    recommended = analysis.recommendation.config
    ax.set_xticklabels(
        [("★ " if r.config_id == recommended else "") + short_label(r, 20) for r in reports],
        rotation=45,
        ha="right",
        fontsize=7,
    )
    for index, report in enumerate(reports, start=1):
        if report.config_id == recommended:
            ax.axvspan(index - 0.4, index + 0.4, color="#1a7f37", alpha=0.12, linewidth=0)
    _target_line(ax, analysis)
    ax.set_ylabel(f"{analysis.quality_metric} per seed{_unit(analysis.quality)}")
    ax.set_title(f"{analysis.quality_metric} per seed, best first (★ recommended)", fontsize=10)
    if analysis.target is not None and not analysis.target.relative:  # (its line has the label)
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def _draw_one_key(analysis: Analysis, key: str, rows: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    scale = analysis.quality.scaled

    fig, ax = plt.subplots(figsize=(7, 4.5))
    every = -(-len(rows) // MAX_ERRORBARS)  # thousands of values (a random or TPE search): a sample
    many, total = every > 1, len(rows)
    rows = rows[::every]
    xs = [r["value"] for r in rows]
    means = [scale(r["mean"]) for r in rows]
    lows = [scale(r["mean"] - (r["ci_low"] if r["ci_low"] is not None else r["mean"])) for r in rows]
    highs = [scale((r["ci_high"] if r["ci_high"] is not None else r["mean"]) - r["mean"]) for r in rows]
    label = f"mean {analysis.quality_metric}"
    if not many:
        ax.errorbar(xs, means, yerr=[lows, highs], fmt="o-", color="#0969da", capsize=3, label=label)
    else:  # the CI as a band
        band_low = [m - d for m, d in zip(means, lows, strict=True)]
        band_high = [m + d for m, d in zip(means, highs, strict=True)]
        ax.fill_between(xs, band_low, band_high, color="#0969da", alpha=0.2, linewidth=0)
        ax.plot(xs, means, ".", color="#0969da", markersize=3, label=label)
    base = [r for r in rows if r["is_baseline"]]
    if base:
        ax.plot(
            [r["value"] for r in base],
            [scale(r["mean"]) for r in base],
            "s",
            color="#6e7781",
            markersize=9,
            markerfacecolor="none",
            label="baseline",
        )
    _target_line(ax, analysis)
    ax.set_xlabel(key)
    ax.set_ylabel(
        f"mean {analysis.quality_metric}{_unit(analysis.quality)}, {analysis.spec.confidence:.0%} CI"
    )
    if any(r["success_rate"] is not None for r in rows):
        twin = ax.twinx()
        twin.plot(
            xs,
            [100 * (r["success_rate"] or 0) for r in rows],
            "-" if many else "s--",
            color="#8250df",
            label="success rate",
        )
        twin.set_ylabel("success rate (%)")
        twin.set_ylim(0, 100)
        twin.legend(loc="lower right", fontsize=8)
    ax.legend(loc="lower left", fontsize=8)
    sampled = f"\n(every {every}th of {total} configs by {key})" if many else ""
    ax.set_title(f"{analysis.quality_metric} against {key}{sampled}", fontsize=10 if many else None)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def draw_best_so_far(curves: list[Any], metric: Any, path: Path) -> Path:
    """The best objective found against the runs spent, one step line per sweep (its strategy
    named), each ending at its last evaluation (hotlap.analysis.anytime)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for curve in curves:
        points = [p for p in curve.points if p.best is not None]
        if not points:
            continue
        xs = [p.runs for p in points]
        ys = [metric.scaled(p.best) for p in points]
        ax.step(xs, ys, where="post", label=f"{curve.sweep} ({curve.strategy})", linewidth=1.6)
        found = curve.found_at()
        if found is not None:
            ax.plot(
                [found.runs],
                [metric.scaled(found.best)],
                marker="o",
                color=ax.lines[-1].get_color(),
            )
    ax.set_xlabel("evaluations (runs)")
    ax.set_ylabel(f"best mean {metric.name} so far{_unit(metric)}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
