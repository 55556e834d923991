"""What makes a sweep's numbers unreliable, said in the report: times that vary too much from run
to run to rank configs, and passing configs whose runs contradict what the decision rule's
guarantee assumes. Pure computation over the analysis' config reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hotlap.metrics import Metric
from hotlap.rules import DecisionRule

__all__ = ["MAX_TIME_CV", "doubted", "named", "time_spread"]


def doubted(reports: Sequence[Any], quality: Metric, rule: DecisionRule) -> tuple[str, ...]:
    """A warning when a passing config's runs contradict what the decision rule's guarantee rests
    on (`DecisionRule.assumes`, checked by its `doubts` at a level of 1%: on data that meet the
    assumption it fires rarely). Only passing configs are checked: a doubt elsewhere changes no
    decision."""
    passing = [r.config_id for r in reports if r.verdict is not None and r.verdict.decision == "pass"]
    if not passing:
        return ()
    values = {r.config_id: list(r.values.get(quality.name, {}).values()) for r in reports}
    found = rule.doubts(values, passing)
    if not found:
        return ()
    names = {r.config_id: named(r) for r in reports}
    flagged = [f"{names[key]}: {why}" for key, why in found.items()]
    shown = "; ".join(flagged[:5]) + (f"; and {len(flagged) - 5} more" if len(flagged) > 5 else "")
    return (
        f"Warning: the guarantee assumes {rule.assumes}, and the runs of passing configs say otherwise "
        f"({shown}); give them more seeds (verification re-checks the recommendation on fresh seeds).",
    )


def named(report: Any) -> str:
    """A config as a warning names it: its id, and its variant's name where it has one."""
    params = getattr(report, "params", None) or {}
    variant = params.get("variant")
    return f"{report.config_id} ({variant})" if variant else report.config_id


MAX_TIME_CV = 0.05  # run-to-run time spread beyond which timings cannot rank configs


def time_spread(reports: Sequence[Any], cost: Metric) -> tuple[str, ...]:
    """A warning when a config's times vary by more than MAX_TIME_CV of their mean (3+ runs): on a
    quiet machine a run's time varies by a percent or two; more means drift (thermal throttling,
    other jobs, a shared GPU), and time differences of a few percent are then not measurable."""
    if cost.kind != "time":
        return ()
    spreads = []
    for report in reports:
        if len(report.values.get(cost.name, ())) < 3:  # (no summary made for it: 50,000 configs)
            continue
        summary = report.metrics.get(cost.name)
        if summary is not None and summary.n >= 3 and summary.mean and summary.std is not None:
            spreads.append((summary.std / abs(summary.mean), named(report)))
    if not spreads or max(spreads)[0] <= MAX_TIME_CV:
        return ()
    worst, config_id = max(spreads)
    noisy = sum(1 for cv, _ in spreads if cv > MAX_TIME_CV)
    return (
        f"Warning: {cost.name} varies by up to {worst:.1%} of its mean from run to run ({config_id}; {noisy} of "
        f"{len(spreads)} configs above {MAX_TIME_CV:.0%}): the machine's speed drifted or other jobs ran. Times "
        "cannot rank configs a few percent apart; rerun on a quiet machine.",
    )
