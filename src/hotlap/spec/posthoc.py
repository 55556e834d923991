"""A stored sweep judged again with another objective, without running anything: a target given
after the runs (`hotlap report ID --target 0.94`), another confidence or cost to minimize, or the
objective of a derived sweep (`hotlap eval ID --reweight ... objective.target.at_least=0.94`).

Only the objective changes (`objective.*` overrides: the target, its confidence and decision rule,
the metrics to maximize or minimize); the spec is validated again against the metrics the sweep
stored, so a sweep whose recipe plugin is gone can be judged again too."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from hotlap.rules import list_rules
from hotlap.spec.errors import apply_overrides, closest_key, describe_errors
from hotlap.spec.fields import SpecError
from hotlap.spec.schema import SweepSpec
from hotlap.spec.validate import resolve_metrics

__all__ = ["objective_overrides", "rejudged", "with_objective"]

_TARGET = re.compile(
    r"^\s*(?:(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=)\s*)?(?P<value>[^\s%]+)\s*(?P<pct>%)?\s*$"
)


def objective_overrides(
    spec: SweepSpec,
    *,
    target: str | None = None,
    alpha: float | None = None,
    minimize: str | None = None,
    criterion: str | None = None,
) -> list[str]:
    """`objective.*` overrides from the report's options: `--target 0.94` (the spec's target metric,
    or its primary objective), `--target tta_accuracy>=94%`, `--target loss<=0.3`; `--alpha` the
    error (confidence 1 - alpha); `--minimize` the cost; `--criterion` the decision rule."""
    items: list[str] = []
    if target is not None:
        match = _TARGET.match(target)
        if match is None:
            raise SpecError(
                f"--target {target!r}: expected a value (0.94, 94%) or METRIC>=VALUE / METRIC<=VALUE"
            )
        name = match["metric"] or (spec.target.metric if spec.target is not None else spec.primary.metric)
        known = [m.name for m in spec.metric_defs()]
        if name not in known:
            raise SpecError(f"--target: unknown metric {name!r} ({closest_key(name, known)})")
        metric = spec.metric(name)
        try:
            value = float(match["value"]) / (100 if match["pct"] else 1)
        except ValueError:
            raise SpecError(f"--target {target!r}: {match['value']!r} is not a number") from None
        op = match["op"] or (">=" if metric.direction == "maximize" else "<=")
        items += [
            "objective.target={}",
            f"objective.target.metric={name}",
            f"objective.target.{'at_least' if op == '>=' else 'at_most'}={value!r}",
        ]
        if spec.target is not None and spec.target.within is None:  # the stored rule and level carry over
            items += [
                f"objective.target.criterion={spec.target.criterion}",
                f"objective.target.confidence={spec.target.confidence!r}",
                f"objective.target.success_rate={spec.target.success_rate!r}",
            ]
    elif spec.target is None and (alpha is not None or criterion is not None):
        raise SpecError("--alpha and --criterion judge a target: give --target too (the sweep has none)")
    if alpha is not None:
        if not 0 < alpha <= 0.5:
            raise SpecError(f"--alpha {alpha}: expected an error rate in (0, 0.5]")
        items.append(f"objective.target.confidence={1 - alpha!r}")
    if criterion is not None:
        if criterion not in list_rules():
            raise SpecError(
                f"--criterion: unknown decision rule {criterion!r} ({closest_key(criterion, list_rules())})"
            )
        items.append(f"objective.target.criterion={criterion}")
    if minimize is not None:
        judged = name if target is not None else (spec.target.metric if spec.target is not None else None)
        if minimize == judged:
            raise SpecError(f"--minimize {minimize}: it is the target's metric; minimize a time or a cost")
        items.append(f"objective.minimize={minimize}")
    return items


def with_objective(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """The raw spec with `objective.*` overrides applied (others refused): the stored objective
    (a list and a separate target) is put back in the written form first, and a target's metric
    leaves the objective's list (with a target, the objective is the cost to minimize)."""
    for item in overrides:
        if not item.split("=", 1)[0].strip().startswith("objective."):
            raise SpecError(f"override {item!r}: only the objective (objective.*) can change here")
    out = dict(raw)
    objective: dict[str, Any] = {}
    stored = out.pop("objective", None)
    if isinstance(stored, Mapping):
        objective = dict(stored)
    for entry in stored if isinstance(stored, list) else []:
        objective.setdefault(entry["direction"], []).append(entry["metric"])
    named = [m for direction in ("maximize", "minimize") for m in _names(objective.get(direction))]
    primary = stored[0]["metric"] if isinstance(stored, list) and stored else next(iter(named), None)
    if out.get("target") is not None:
        objective["target"] = out.pop("target")
    out.pop("target", None)
    out = apply_overrides({**out, "objective": objective}, list(overrides))
    objective = out["objective"]
    target = objective.get("target")
    if isinstance(target, dict) and target:
        target.setdefault("metric", primary)  # without its metric: the primary objective's
        for direction in ("maximize", "minimize"):
            kept = [m for m in _names(objective.get(direction)) if m != target.get("metric")]
            if kept:
                objective[direction] = kept
            else:
                objective.pop(direction, None)
    out["objective"] = objective or None
    return out


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def rejudged(spec: SweepSpec, overrides: Sequence[str]) -> SweepSpec:
    """The stored `spec` with its objective changed by `overrides`, validated again against the
    metrics the sweep stored (SpecError in one line)."""
    if not overrides:
        return spec
    raw = with_objective(spec.to_plain(), overrides)
    declared = raw.pop("metrics", None) or []
    try:
        changed = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(describe_errors(exc.errors(), SweepSpec)) from None
    return resolve_metrics(changed, declared)
