"""Where configs matter, for a sweep over two keys or more: each key's importance (main effects over the
configs' means) and the configs in parallel coordinates. Drawn from hotlap.analysis.importance's
pure data."""

from __future__ import annotations

from pathlib import Path

from hotlap.analysis.configs import Analysis
from hotlap.analysis.importance import judged_configs
from hotlap.report.figures import save

__all__ = ["draw_importance", "draw_parallel"]


def draw_importance(analysis: Analysis, found: dict[str, float], explained: float | None, path: Path) -> Path:
    """Each key's share of the keys' main effects, and (`explained`) how much of the variation in
    the configs' means those effects explain together: near 0, the shares split noise."""
    import matplotlib.pyplot as plt

    keys = list(found)[::-1]  # the largest on top
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(keys) + 1.6))
    ax.barh(keys, [found[k] for k in keys], color="#0969da")
    for y, key in enumerate(keys):
        ax.text(found[key], y, f" {found[key]:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, max(1.0, max(found.values()) * 1.15))
    ax.set_xlabel(
        f"each key's share of the keys' main effects on the configs' mean {analysis.quality_metric}"
    )
    title = "Where configs matter: each swept key's importance"
    if explained is not None:
        title += f"\nthe main effects together explain {_percent(explained)} of the variation in the configs' means"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def _percent(share: float) -> str:
    """A share as a percentage with two significant digits: 78%, 4.2%, 0.011%."""
    return f"{100 * share:.2g}%" if share < 0.995 else "100%"


def draw_parallel(
    analysis: Analysis,
    axes: list[tuple[str, list[tuple[float, str]]]],
    lines: list[tuple[list[float], float]],
    path: Path,
) -> Path:
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors
    from matplotlib.collections import LineCollection

    sign = analysis.quality.sign
    means = [mean for _, mean in lines]
    norm = colors.Normalize(vmin=min(means), vmax=max(means) if max(means) > min(means) else min(means) + 1)
    cmap = matplotlib.colormaps["viridis" if sign > 0 else "viridis_r"]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.8 * len(axes)), 4.5))
    xs = list(range(len(axes)))
    ordered = sorted(lines, key=lambda line: sign * line[1])  # the best drawn last: on top
    segments = [list(zip(xs, positions, strict=True)) for positions, _ in ordered]
    colours = [cmap(norm(mean)) for _, mean in ordered]
    ax.add_collection(LineCollection(segments, colors=colours, alpha=0.7, linewidths=1))  # one artist
    ax.set_ylim(-0.05, 1.05)
    for x, (_, ticks) in zip(xs, axes, strict=True):
        ax.axvline(x, color="#6e7781", linewidth=0.8)
        for position, label in ticks:
            ax.text(x + 0.03, position, label, fontsize=7, va="center")
    ax.set_xticks(xs, [name for name, _ in axes], fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(axes) - 0.5)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"mean {analysis.quality_metric}")
    quality = analysis.quality_metric
    judged = sum(1 for r in judged_configs(analysis) if r.mean(quality) is not None)
    # (short lines: the figure is as wide as its few axes, and a longer title was cut at its edges)
    title = "The configs in parallel coordinates\ncolour: the mean; the best drawn on top"
    if judged > len(lines):
        title += f"\nthe first {len(lines):,} of {judged:,} configs, in report order"
    ax.set_title(title, fontsize=10)
    return save(fig, path)
