"""The report's plots, drawn from their data (hotlap.report.plot_data and key_data: pure functions of
the Analysis).

- accuracy_time: mean accuracy vs mean time per config, CI bars on both, the target line, the
  Pareto front (no other config is both more accurate and faster).
- distributions: every config's per-seed accuracies, with the target line.
- one_key: for a sweep over one key, mean accuracy with its CI and the success rate against it.
- grid (two keys, `by_keys.png`): the mean accuracy of each combination as a heatmap; panels (three
  to six keys, `by_key_panels.png`): each key read alone, its values' configs best to worst.
- paired: an evaluation-only sweep's paired differences from the baseline.
- verification (`screening_vs_verification.png`): each verified config's screening and fresh-seed
  means side by side.
- importance, parallel_coordinates (two swept keys or more): each key's share of the variation in
  the configs' means (main effects), and the configs across the keys, coloured by their mean.
- best_so_far (`hotlap best-so-far`): the best objective found against the runs spent, per sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.importance import parallel_axes
from hotlap.report.figures import COLORS, save, target_line, unit
from hotlap.report.key_data import key_panels, one_key_series, two_key_grid
from hotlap.report.plot_data import (
    MAX_DISTRIBUTIONS,
    PlotPoint,
    accuracy_time_points,
    box_stats,
    full_reports,
    pareto_front,
    plotted_cost,
    screening_and_verification,
    short_label,
    with_bars,
)
from hotlap.report.rows import importance_explained, key_importances
from hotlap.report.study_plots import draw_grid, draw_one_key, draw_paired, draw_panels, draw_verification
from hotlap.report.where_plots import draw_importance, draw_parallel

__all__ = ["draw_all", "draw_best_so_far"]

# --- drawing -------------------------------------------------------------------------------------


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
    grid = two_key_grid(analysis)
    if grid is not None:  # a grid over two keys: a heatmap of the quality
        written.append(draw_grid(analysis, *grid, directory / "by_keys.png"))
    elif panels := key_panels(analysis):  # more keys: each read alone, a panel apiece
        written.append(draw_panels(analysis, panels, directory / "by_key_panels.png"))
    found = key_importances(analysis)
    if found:  # two keys or more: where configs matter
        share = importance_explained(analysis)
        written.append(draw_importance(analysis, found, share, directory / "importance.png"))
    axes, lines = parallel_axes(analysis)
    if axes:
        written.append(draw_parallel(analysis, axes, lines, directory / "parallel_coordinates.png"))
    verified = screening_and_verification(analysis)
    if verified:
        written.append(draw_verification(analysis, verified, directory / "screening_vs_verification.png"))
    if series is not None:
        written.append(draw_one_key(analysis, *series, directory / "by_key.png"))
        key, rows = series
        if all(r["diff"] is not None and r["paired"] for r in rows):
            # Configs evaluated on the same networks (a derived sweep's weightings): what they
            # measure is the paired difference from the baseline, far narrower than the means' CIs.
            written.append(draw_paired(analysis, key, rows, directory / "paired_vs_baseline.png"))
    return written


def _draw_accuracy_time(analysis: Analysis, points: list[PlotPoint], path: Path, cost: Any) -> Path:
    import matplotlib.pyplot as plt
    import numpy as np

    scale = analysis.quality.scaled

    fig, ax = plt.subplots(figsize=(7.5, 5))
    barred, dotted = with_bars(points, analysis.quality.sign)
    dots: dict[str | None, list[PlotPoint]] = {}
    for point in dotted:
        dots.setdefault(point.decision, []).append(point)
    for decision, members in dots.items():
        ax.scatter(  # (arrays: from lists matplotlib's masking checks each of 50,000 points alone)
            np.asarray([p.time for p in members], dtype=float),
            scale(np.asarray([p.accuracy for p in members], dtype=float)),  # (scaled as one array)
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
    target_line(ax, analysis)
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
    # Beside the axes where thousands of dots are drawn: "best" counts every point under each of
    # its nine places (a third of a second at 50,000 configs), and would cover some of them anyway.
    beside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if dotted else {"loc": "best"}
    ax.legend(handles=[*ax.get_legend_handles_labels()[0], *handles], fontsize=8, framealpha=0.8, **beside)
    ax.set_xlabel(f"mean {cost.name}{unit(cost)}, {analysis.spec.confidence:.0%} CI")
    ax.set_ylabel(
        f"mean {analysis.quality_metric}{unit(analysis.quality)}, {analysis.spec.confidence:.0%} CI"
    )
    title = f"{analysis.quality_metric} vs {cost.name} per config"
    if dotted:
        title += f"\n(CIs of the {len(barred)} best; {len(dotted):,} more as dots)"
    ax.set_title(title, fontsize=10 if dotted else None)
    ax.grid(alpha=0.3)
    return save(fig, path)


MAX_LABELS = 25  # configs named on the accuracy-time plot; the rest would be a blur of text


def _label_points(ax: Any, points: list[PlotPoint], scale: Any) -> None:
    """Name the points (the recommendation and the baseline first, then by accuracy), skipping a
    label that would overlap one already placed: a point's name is readable or absent."""
    ax.autoscale_view()  # the axes' final limits, to measure in display space (no full draw)
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
    # A bar's base is a "sticky" edge the y margin stops at: where a box is flat (one run, or ties)
    # at the highest or lowest value, its point sat half outside the axes.
    ax.use_sticky_edges = False


def _draw_distributions(analysis: Analysis, path: Path) -> Path:
    import matplotlib.pyplot as plt

    scale = analysis.quality.scaled

    every = full_reports(analysis)
    reports = every[:MAX_DISTRIBUTIONS]
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
    target_line(ax, analysis)
    ax.set_ylabel(f"{analysis.quality_metric} per seed{unit(analysis.quality)}")
    shown = (
        "best first"
        if len(every) <= len(reports)
        else f"the first {len(reports)} of {len(every):,} configs in report order"
    )
    ax.set_title(f"{analysis.quality_metric} per seed, {shown} (★ recommended)", fontsize=10)
    if analysis.target is not None and not analysis.target.relative:  # (its line has the label)
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return save(fig, path)


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
    ax.set_ylabel(f"best mean {metric.name} so far{unit(metric)}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)
