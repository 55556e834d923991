"""The text every report format shows: a config row's cells and the table's headers, and the
sentences under the table (runs, coverage, guarantee, verification, devices). Pure: analysis in,
strings out; the terminal, Markdown and HTML renderers lay them out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hotlap.analysis.configs import Analysis
from hotlap.analysis.judging import planned_configs
from hotlap.analysis.reports import short_value
from hotlap.report.rows import cached, shown_costs, swept_columns
from hotlap.store import SweepRecord

DECISION_STYLE = {"pass": "green", "fail": "red", "undecided": "yellow"}


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _table_cells(analysis: Analysis, rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """`_cells` of each row (fresh lists, callers may change them); made once per analysis and list
    of rows, for every table that shows them (the Markdown and the HTML of a report folder)."""
    made: dict[int, tuple[Sequence[dict[str, Any]], list[list[str]]]] = cached("cells", analysis, dict)
    hit = made.get(id(rows))
    if hit is None or hit[0] is not rows:  # (held with its rows: an id is not reused while held)
        hit = made[id(rows)] = (rows, [_cells(row, analysis) for row in rows])
    return [list(cells) for cells in hit[1]]


def _cells(row: dict[str, Any], analysis: Analysis) -> list[str]:
    """The display cells of one config row, shared by the terminal, Markdown and HTML tables."""
    swept = swept_columns(analysis)
    parts = [
        str(row[column]) if k == "variant" else f"{k}={short_value(row[column])}"
        for k, column in swept.items()
        if not (k == "variant" and row[column] is None)
    ]
    label = ", ".join(parts) or ("baseline" if row["is_baseline"] else "(base config)")
    if row["is_baseline"] and label != "baseline":
        label += " (baseline)"
    quality, cost = analysis.quality, analysis.cost
    accuracy = quality.format(row["mean_accuracy"], unit=False)
    if row["std_accuracy"] is not None:
        accuracy += f"±{quality.format(row['std_accuracy'], unit=False)}"
    ci = (
        f"{quality.format(row['ci_low'], unit=False)}-{quality.format(row['ci_high'], unit=False)}"
        if row["ci_low"] is not None
        else "-"
    )
    success = "-"
    if row["success_rate"] is not None:
        success = f"{_pct(row['success_rate'], 0)} ({_pct(row['success_ci_low'], 0)}-{_pct(row['success_ci_high'], 0)})"
    time = cost.format(row["mean_time"], unit=False)
    if row["std_time"] is not None:
        time += f"±{cost.format(row['std_time'], unit=False)}"
    if _vs_quality(analysis):  # the objective is the quality metric: the difference in it
        diff = row["accuracy_diff_vs_baseline"]
        vs = "-" if diff is None else ("+" if diff >= 0 else "") + quality.format(diff, unit=False)
    else:
        vs = "-" if row["time_diff_pct"] is None else f"{row['time_diff_pct']:+.1f}%"
    decision = row["decision"] or "-"
    cells = [
        row["config_id"],
        label,
        str(row["n"]) + (f" ({row['failed']} failed)" if row["failed"] else ""),
    ]
    cells += [accuracy, ci, success, time, vs, decision, _p(row["p_holm_vs_baseline"])]
    spec = analysis.spec
    cells += [spec.metric(name).format(mean, unit=False) for name, mean in row.get("costs", {}).items()]
    return cells


def _vs_quality(analysis: Analysis) -> bool:
    """Whether "vs baseline" is the difference in the quality metric (the study maximizes or
    minimizes it, with no target) rather than in time (the fastest config that reaches a target)."""
    return analysis.target is None and analysis.spec.primary.metric == analysis.quality_metric


def _vs_header(analysis: Analysis) -> str:
    if not _vs_quality(analysis):
        return f"vs baseline ({analysis.cost.name})"
    quality = analysis.quality
    return f"vs baseline ({quality.name}{', points' if quality.percent else ''})"


def _headers(analysis: Analysis, *, long: bool = False) -> list[str]:
    """The table's column names; `long`: the HTML's, which have room to say what each means."""
    quality, cost = analysis.quality, analysis.cost
    acc = f"{quality.name} {quality.shown_unit}".strip()
    time = f"{cost.name} {cost.shown_unit}".strip()
    confidence = f"{analysis.spec.confidence:.0%} CI {quality.shown_unit}".strip()
    target = analysis.target if analysis.target is not None and not analysis.target.relative else None
    success = f"{'≥' if target.maximize else '≤'} {target.shown} (CI)" if target else "success"
    if long:
        confidence = f"{quality.name} {analysis.spec.confidence:.0%} CI {quality.shown_unit}".strip()
        if target:
            success = (
                f"runs reaching {target.shown} ({'%' if quality.percent else 'share'}, "
                f"{analysis.spec.confidence:.0%} CI)"
            )
        return [
            "config",
            "swept values",
            "n (seeds)",
            f"mean {acc}",
            confidence,
            success,
            f"mean {time}",
            _vs_header(analysis),
            "decision",
            f"p vs baseline ({quality.name}, Holm)",
            *(f"mean {name}" for name in _cost_headers(analysis)),
        ]
    return [
        "config",
        "swept values",
        "n",
        acc,
        confidence,
        success,
        time,
        _vs_header(analysis),
        "decision",
        f"p {quality.name} (Holm)",
        *_cost_headers(analysis),
    ]


def _cost_headers(analysis: Analysis) -> list[str]:
    """The shown cost metrics' columns (`hotlap.report.rows.shown_costs`), with their units."""
    spec = analysis.spec
    return [f"{name} {spec.metric(name).shown_unit}".strip() for name in shown_costs(analysis)]


def _runs_line(analysis: Analysis) -> str:
    return _runs_counts(analysis) + _pruned_line(analysis)


def _pruned_line(analysis: Analysis) -> str:
    """How many configs the pruner closed, and on what (empty without one)."""
    pruning = analysis.spec.pruning
    pruned = sum(1 for r in analysis.configs if r.pruned is not None)
    if pruning is None or not pruned:
        return ""
    return (
        f" {pruned} config(s) pruned ({pruning.rule} on the epochs' {pruning.metric}): closed, never judged "
        "or recommended."
    )


def _runs_counts(analysis: Analysis) -> str:
    if analysis.runs_max is None:
        return f"{analysis.runs_used:,} runs."
    line = (
        f"{analysis.runs_used:,} runs; giving every config all {len(analysis.spec.seeds)} seeds would have taken "
        f"{analysis.runs_max:,}"
    )
    fixed, cost = analysis.fixed, analysis.runs_fixed
    if fixed is None or cost is None:  # no decision rule to hold the comparison to: against max seeds
        saved = analysis.runs_saved or 0
        share = 100 * saved / analysis.runs_max if analysis.runs_max else 0.0
        return f"{line}: racing saved {saved:,} runs ({share:.0f}%)."
    than = cost - analysis.runs_used
    verdict = (
        f"racing saved {than:,} runs ({100 * than / cost:.0f}%)"
        if than >= 0
        else f"racing used {-than:,} more"
    )
    return (
        f"{line}; a fixed design of equal error and power ({fixed.seeds} seeds per config, one look: "
        f"{fixed.power:.0%} power for a config {fixed.delta:.2f} std above the target) would have taken "
        f"{cost:,}: {verdict}."
    )


def _coverage_line(analysis: Analysis, sweep: SweepRecord) -> str:
    """Where a sweep is not done, how much of it ran: a partial sweep must not look complete."""
    if sweep.state == "done":
        return ""
    ran = len({c.config_id for c in analysis.configs})
    planned = planned_configs(analysis.spec)
    of = f"{ran} of {planned} configs" if planned else f"{ran} configs"
    why = f" ({sweep.message})" if sweep.message else ""
    return (
        f"Partial: {of} have runs so far; the sweep is {sweep.state}{why}. The decisions are "
        f"about these configs only; continue it with: hotlap resume {sweep.id}"
    )


def _guarantee_line(analysis: Analysis) -> str:
    """What the decisions guarantee (family-wise or per config, alpha, looks): said in the report."""
    promise = analysis.guarantee
    if promise is None or (analysis.target is None and analysis.spec.racing is None):
        return ""
    return f"Decisions: {promise.describe()}."


def _verification_line(analysis: Analysis) -> str | None:
    """What verification found; binding: only a config that passed there is recommended."""
    if not analysis.verification:
        return None
    seeds = analysis.spec.verify_seeds()
    where = f"Verification on {len(seeds)} fresh seeds ({seeds[0]}-{seeds[-1]})"
    first = analysis.candidates[0] if analysis.candidates else None
    if analysis.target is None:
        return f"{where}: no target, so nothing to decide."
    check = analysis.time_check
    if analysis.verified is not None and check is not None and check.binding and not check.holds:
        return (
            f"{where}: {check.name} passes the target again, but its {check.metric} advantage over "
            f"the baseline did NOT hold, so no config is recommended over the baseline. "
            f"{check.describe(analysis.cost)}"
        )
    timed = f" {check.describe(analysis.cost)}" if check is not None else ""
    if analysis.verified is not None and analysis.verified == first:
        return (
            f"{where}: the recommendation held (it passes again); only a verified config is recommended."
            + timed
        )
    if analysis.verified is not None:
        return (
            f"{where}: the search's first choice {first} did NOT hold; the next candidate "
            f"{analysis.verified} passed and is the recommendation.{timed}"
        )
    if analysis.recommendation.config is None:
        return f"{where}: no candidate passed, so no config is recommended."
    held = {
        False: "the recommendation did NOT hold (it fails the target on fresh seeds)",
        None: "not complete, or inconclusive (raise verify.seeds and resume)",
        True: "the recommendation held",
    }
    return f"{where}: {held[analysis.verification_held]}."


def _pareto_table(analysis: Analysis) -> tuple[str, list[str], list[list[str]]] | None:
    """(title, headers, rows) of the Pareto front with two or more objectives: each
    non-dominated config with its objectives' means (None: a single objective)."""
    objectives = analysis.spec.objective or []
    if len(objectives) < 2:
        return None
    metrics = [analysis.spec.metric(o.metric) for o in objectives]
    shown = ", ".join(f"{m.name} ({'max' if m.direction == 'maximize' else 'min'})" for m in metrics)
    total = sum(1 for r in analysis.configs if r.fidelity == "full")
    title = f"Pareto front on {shown}: {len(analysis.pareto)} of {total} configs (no other is at least as good on every objective and better on one)"
    headers = [
        "config",
        *(f"{m.name} ({m.shown_unit})" if m.shown_unit else m.name for m in metrics),
    ]
    rows = []
    for config_id in analysis.pareto:
        report = analysis.report_for(config_id)
        if report is None:
            continue
        label = f"{config_id} [{report.label()}]" if report.params else config_id
        rows.append([label, *(m.format(report.metrics[m.name].mean, unit=False) for m in metrics)])
    return title, headers, rows


def _constraints_line(analysis: Analysis) -> str | None:
    """What the constraints are and which configs broke them (on their means)."""
    bounds = analysis.spec.constraints
    if not bounds:
        return None
    text = "Constraints: " + "; ".join(b.describe() for b in bounds) + "."
    if analysis.excluded:
        shown = "; ".join(f"{cid} ({what})" for cid, what in list(analysis.excluded.items())[:10])
        more = f" and {len(analysis.excluded) - 10} more" if len(analysis.excluded) > 10 else ""
        text += f" Excluded before running, {len(analysis.excluded)} config(s): {shown}{more}."
    if not analysis.broken:
        return text + (
            " Every config that ran keeps them." if analysis.excluded else " Every config keeps them."
        )
    shown = "; ".join(f"{cid} ({what})" for cid, what in list(analysis.broken.items())[:10])
    more = f" and {len(analysis.broken) - 10} more" if len(analysis.broken) > 10 else ""
    return f"{text} Broken by {len(analysis.broken)} config(s), never recommended: {shown}{more}."


def _devices_line(analysis: Analysis) -> str | None:
    """Said plainly when timings come from more than one device (--allow-device-change)."""
    if not analysis.mixes_devices:
        return None
    shown = ", ".join(f"{device} ({n} runs)" for device, n in analysis.devices.items())
    return f"Warning: times mix devices: {shown}; compare times only within one device."


# Terminal columns after the config, by cell index, and the order they give way on a narrow terminal.
