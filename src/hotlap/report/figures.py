"""What every report plot draws with: the decisions' colours, a metric's unit in a label, the
target line, and saving a figure atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis

__all__ = ["COLORS", "save", "target_line", "unit"]

COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "undecided": "#9a6700", None: "#0969da"}


def unit(metric: Any) -> str:
    return f" ({metric.shown_unit})" if metric.shown_unit else ""


def target_line(ax: Any, analysis: Analysis, horizontal: bool = True) -> None:
    if analysis.target is None or analysis.target.relative:  # a difference: no line on the values
        return
    value = analysis.quality.scaled(analysis.target.threshold)
    line = ax.axhline if horizontal else ax.axvline
    line(value, color="#cf222e", linestyle="--", linewidth=1, label=f"target {analysis.target.shown}")


def save(fig: Any, path: Path) -> Path:
    from hotlap.io import atomic_write

    fig.tight_layout()
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=110))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
