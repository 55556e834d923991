"""What every report plot draws with: the decisions' colours, a metric's unit in a label, the
target line, and saving a figure atomically."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hotlap.analysis.configs import Analysis

__all__ = ["COLORS", "for_print", "save", "target_line", "unit"]

COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "undecided": "#9a6700", None: "#0969da"}


def unit(metric: Any) -> str:
    return f" ({metric.shown_unit})" if metric.shown_unit else ""


def target_line(ax: Any, analysis: Analysis, horizontal: bool = True) -> None:
    if analysis.target is None or analysis.target.relative:  # a difference: no line on the values
        return
    value = analysis.quality.scaled(analysis.target.threshold)
    line = ax.axhline if horizontal else ax.axvline
    line(value, color="#cf222e", linestyle="--", linewidth=1, label=f"target {analysis.target.shown}")


SCREEN_DPI = 110  # the PNGs the HTML report embeds
PRINT_DPI = 300  # `hotlap report --print`: for a paper, with a vector PDF and SVG beside each PNG
_PRINT: contextvars.ContextVar[bool] = contextvars.ContextVar("hotlap_print_figures", default=False)


@contextlib.contextmanager
def for_print() -> Iterator[None]:
    """Within it, every figure saved is a PNG at PRINT_DPI with a vector PDF and SVG beside it."""
    token = _PRINT.set(True)
    try:
        yield
    finally:
        _PRINT.reset(token)


def save(fig: Any, path: Path) -> Path:
    """The figure as `path` (PNG), atomically; for print, at 300 dpi with `path`.pdf and .svg beside it."""
    from hotlap.io import atomic_write

    fig.tight_layout()
    printing = _PRINT.get()
    dpi = PRINT_DPI if printing else SCREEN_DPI
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=dpi))
    if printing:
        for vector in ("pdf", "svg"):
            atomic_write(
                path.with_suffix(f".{vector}"), lambda handle, v=vector: fig.savefig(handle, format=v)
            )
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
