"""The data of the plots by swept key: one numeric key (`by_key.png`), a grid over two
(`by_keys.png`), three to six read one at a time (`by_key_panels.png`). Pure functions of the
Analysis, as `hotlap.report.plot_data`'s."""

from __future__ import annotations

from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.importance import BINS, value_groups
from hotlap.analysis.reports import short_value
from hotlap.report.plot_data import full_reports

__all__ = ["MAX_CELLS", "MAX_PANELS", "key_panels", "one_key_series", "two_key_grid"]


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
    values = [v for v, _ in pairs]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    groups: dict[Any, list[float]] = {}
    labels: dict[Any, str] = {}
    if numeric and len(set(values)) > BINS:  # a sampled range: every config its own value
        groups, labels = _binned([m for _, m in pairs], values)
    else:
        for value, mean in pairs:
            groups.setdefault(value, []).append(mean)
    best, worst = (max, min) if sign > 0 else (min, max)
    rows = [
        {
            "value": value,
            "label": labels.get(value, short_value(value)),
            "best": best(means),
            "worst": worst(means),
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


def _binned(means: list[float], values: list[Any]) -> tuple[dict[Any, list[float]], dict[Any, str]]:
    """The means grouped by the quantile bin of their configs' values (`value_groups`), each group
    keyed by its least value and labelled by its range; in the order the values came within a bin
    (sorted by bin, not config by config: 50,000 configs of a random search)."""
    import numpy as np

    codes = value_groups(values)
    order = np.argsort(codes, kind="stable")
    x, y = np.asarray(values, dtype=float), np.asarray(means, dtype=float)
    groups: dict[Any, list[float]] = {}
    labels: dict[Any, str] = {}
    for members in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        spread = x[members]
        low, high = values[members[spread.argmin()]], values[members[spread.argmax()]]
        groups[low] = y[members].tolist()
        labels[low] = f"{low:.3g}-{high:.3g}"
    return groups, labels


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
