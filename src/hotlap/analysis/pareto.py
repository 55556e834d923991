"""The Pareto front of a multi-objective sweep: the configs no other config beats on every objective.

Pure computation on the configs' means, each objective in its own direction. A config dominates
another when it is at least as good on every objective and better on one; the front is every
config that nothing dominates. Vectorized with numpy over blocks of configs, so that thousands of
configs take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["non_dominated"]

BLOCK = 512  # configs compared against all the others at once


def non_dominated(values: Sequence[Sequence[float]], signs: Sequence[float]) -> list[int]:
    """Indices of the non-dominated rows of `values` (one row per config, one column per
    objective; `signs[j]` is +1 where larger is better). Rows with a missing (NaN) value take no
    part: they are neither on the front nor dominate anything."""
    if not len(values):
        return []
    points = np.asarray(values, dtype=float) * np.asarray(signs, dtype=float)  # larger is better
    valid = ~np.isnan(points).any(axis=1)
    index = np.flatnonzero(valid)
    points = points[valid]
    front = []
    for start in range(0, len(points), BLOCK):
        block = points[start : start + BLOCK]
        at_least = (points[None, :, :] >= block[:, None, :]).all(axis=2)  # [b, n]: n >= b everywhere
        better = (points[None, :, :] > block[:, None, :]).any(axis=2)  # [b, n]: n > b somewhere
        dominated = (at_least & better).any(axis=1)
        front.extend(int(index[start + i]) for i in np.flatnonzero(~dominated))
    return front
