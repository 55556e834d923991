"""The plots shaped by the study a sweep is: a sweep over one key (mean and success rate against
it), over two (a heatmap), over three to six (a panel per key), and an evaluation-only sweep's
paired differences from the baseline. Drawn from hotlap.report.plot_data's pure data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.reports import short_value
from hotlap.report.figures import save, target_line, unit
from hotlap.report.plot_data import MAX_ERRORBARS

__all__ = ["draw_grid", "draw_one_key", "draw_paired", "draw_panels", "draw_verification"]


def draw_one_key(analysis: Analysis, key: str, rows: list[dict[str, Any]], path: Path) -> Path:
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
    target_line(ax, analysis)
    ax.set_xlabel(key)
    ax.set_ylabel(
        f"mean {analysis.quality_metric}{unit(analysis.quality)}, {analysis.spec.confidence:.0%} CI"
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
    return save(fig, path)


def draw_grid(
    analysis: Analysis,
    row_key: str,
    col_key: str,
    rows: list[Any],
    cols: list[Any],
    cells: list[list[Any]],
    path: Path,
) -> Path:
    """The mean quality of each (row, column) config as a heatmap, each cell annotated with its
    mean, n and decision (passes outlined)."""
    import matplotlib.pyplot as plt
    import numpy as np

    quality = analysis.quality
    values = np.array(
        [[np.nan if c is None else quality.scaled(c[0]) for c in row] for row in cells], dtype=float
    )
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(cols) + 2.5), max(3.5, 0.55 * len(rows) + 2)))
    cmap = "viridis" if quality.direction == "maximize" else "viridis_r"
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax, label=f"mean {quality.name}{unit(quality)}")
    ax.set_xticks(range(len(cols)), [short_value(v) for v in cols])
    ax.set_yticks(range(len(rows)), [short_value(v) for v in rows])
    ax.set_xlabel(col_key)
    ax.set_ylabel(row_key)
    small = len(rows) * len(cols) <= 64
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if cell is None:
                continue
            mean, decision, n = cell
            if decision == "pass":
                ax.add_patch(
                    plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=2)
                )
            if small:
                label = f"{quality.format(mean, unit=False)}\nn={n}" + (f"\n{decision}" if decision else "")
                ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white")
    title = f"mean {quality.name} over {row_key} x {col_key}"
    if analysis.target is not None:
        title += " (outlined: passes the target)"
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def draw_panels(analysis: Analysis, panels: list[tuple[str, list[dict[str, Any]]]], path: Path) -> Path:
    """One panel per swept key: at each of its values, the mean quality of the configs with it
    (best and worst as a bar), the number of configs written under each."""
    import matplotlib.pyplot as plt

    quality = analysis.quality
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, (key, rows) in zip(axes[0], panels, strict=True):
        xs = list(range(len(rows)))
        means = [quality.scaled(r["mean"]) for r in rows]
        low = [m - quality.scaled(min(r["best"], r["worst"])) for m, r in zip(means, rows, strict=True)]
        high = [quality.scaled(max(r["best"], r["worst"])) - m for m, r in zip(means, rows, strict=True)]
        ax.errorbar(xs, means, yerr=[low, high], fmt="o", color="#0969da", capsize=3)
        if len(rows) > 5:  # many values: slanted, on one line, each ending under its point
            ticks = [f"{r['label']} ({r['configs']:,})" for r in rows]
            ax.set_xticks(xs, ticks, fontsize=7, rotation=45, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(xs, [f"{r['label']}\n({r['configs']:,})" for r in rows], fontsize=7)
        ax.set_xlabel(key, fontsize=8)
        ax.grid(alpha=0.3)
        target_line(ax, analysis)
    axes[0][0].set_ylabel(f"mean {quality.name}{unit(quality)}")
    fig.suptitle(  # (two short lines: with two keys the figure is narrow, and one line was cut)
        f"{quality.name} by each swept key\n"
        "dot: the configs' mean; bar: best to worst; configs per value in brackets",
        fontsize=10,
    )
    return save(fig, path)


def draw_paired(analysis: Analysis, key: str, rows: list[dict[str, Any]], path: Path) -> Path:
    """Each value's mean paired difference from the baseline (same seeds, same networks) with its
    CI, n per point; zero is the baseline."""
    import matplotlib.pyplot as plt

    quality = analysis.quality
    shown = " (points)" if quality.percent else unit(quality)
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
    ax.set_ylabel(f"{quality.name} minus the baseline's{shown}, {analysis.spec.confidence:.0%} CI")
    ax.set_title(f"{quality.name} against {key}, paired with the baseline on the same seeds")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def draw_verification(analysis: Analysis, rows: list[dict[str, Any]], path: Path) -> Path:
    """Each verified config's screening and fresh-seed means side by side, with their CIs and n,
    the target line: the search's estimate against the one free of its winner's curse."""
    import matplotlib.pyplot as plt

    quality = analysis.quality
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(rows) + 2), 4.2))
    for offset, stage, color in ((-0.15, "screening", "#6e7781"), (0.15, "verification", "#0969da")):
        xs = [i + offset for i in range(len(rows))]
        means = [quality.scaled(r[stage][0]) for r in rows]
        low = [
            quality.scaled(r[stage][0] - (r[stage][1] if r[stage][1] is not None else r[stage][0]))
            for r in rows
        ]
        high = [
            quality.scaled((r[stage][2] if r[stage][2] is not None else r[stage][0]) - r[stage][0])
            for r in rows
        ]
        ax.errorbar(xs, means, yerr=[low, high], fmt="o", color=color, capsize=3, label=stage)
        for x, y, r in zip(xs, means, rows, strict=True):
            ax.annotate(f"n={r[stage][3]}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    names = [r["label"] + (" (verified)" if r["verified"] else "") for r in rows]
    ax.set_xticks(range(len(rows)), names, fontsize=8)
    target_line(ax, analysis)
    ax.set_ylabel(f"mean {quality.name}{unit(quality)}, {analysis.spec.confidence:.0%} CI")
    ax.set_title("screening (the search) against verification (fresh seeds)", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)
