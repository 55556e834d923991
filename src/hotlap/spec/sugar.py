"""The spec as written, turned into its stored form before validation: `seeds: {min, max, step}`
into seeds and `racing`, `objective: {target: ...}` into `target`, a top-level `script:` block into
`base.script`, `objective: {maximize: ...}` into a list, and each space entry into its model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from hotlap.spec.errors import UNION_BRANCH, closest_key
from hotlap.spec.fields import MAX_SEED, MAX_SEEDS, RECIPE_KEY, ChoicesSpec, RangeSpec

__all__ = ["OLD_NAMES", "objective_list", "restructure", "seed_list", "space_entries"]

# Keys renamed since 0.1, each read under its old name too (a stored spec, a user's file).
OLD_NAMES = {"keep_logits": "keep_artifacts", "tta_weights": "reweight"}


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its old key names renamed (stored specs have them too)."""
    for old, new in OLD_NAMES.items():
        if old in data:
            if new in data:
                raise ValueError(f"{old} is the old name of {new}: give {new} only")
            data[new] = data.pop(old)
    return data


def restructure(data: Any) -> Any:
    """The written spec's sugar in its stored form (old key names renamed)."""
    if not isinstance(data, Mapping):
        return data
    data = _renamed(dict(data))
    seeds = data.get("seeds")
    if isinstance(seeds, Mapping):
        unknown = set(seeds) - {"min", "max", "step", "futility"}
        if unknown or not {"min", "max"} <= set(seeds):
            raise ValueError("seeds: give a count, a list, or {min, max, step, futility} for racing")
        low, high, step = seeds["min"], seeds["max"], seeds.get("step", 5)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
            raise ValueError("seeds: min, max and step are integers")
        if not 2 <= low <= high:
            raise ValueError(f"seeds: need 2 <= min <= max (got min {low}, max {high})")
        if high > MAX_SEEDS:
            raise ValueError(f"seeds.max {high:,} is over the limit of {MAX_SEEDS:,} seeds per config")
        data["seeds"] = list(range(high))
        data["racing"] = {
            "min": low,
            "step": step,
            **({"futility": seeds["futility"]} if "futility" in seeds else {}),
        }
    space = data.get("space")
    swept = space.get(RECIPE_KEY) if isinstance(space, Mapping) else None
    if swept is not None and not (
        isinstance(swept, list) and swept and all(isinstance(n, str) for n in swept)
    ):
        raise ValueError(f"space.{RECIPE_KEY}: a list of recipe names")
    if "recipe" not in data and swept:
        data["recipe"] = swept[0]  # the recipe is swept: the first is the sweep's default
    if "script" in data:  # recipe script: the block is part of every config (base.script)
        base = data.get("base") or {}
        if not isinstance(base, Mapping):
            return data  # the field's own validation says what is wrong
        if "script" in base:
            raise ValueError("give the script block once: at the top level or in base, not both")
        data["base"] = {**base, "script": data.pop("script")}
    objective = data.get("objective")
    if isinstance(objective, Mapping) and "target" in objective:
        objective = dict(objective)
        data["target"] = objective.pop("target")
        data["objective"] = objective or None
    return data


def seed_list(value: Any) -> Any:
    """`seeds: N` as the list 0..N-1; a list checked (limits, repeats, signs)."""
    if isinstance(value, bool):
        raise ValueError("seeds is a count or a list of seeds")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"at least one seed (got {value})")
        if value > MAX_SEEDS:
            raise ValueError(f"{value:,} seeds is over the limit of {MAX_SEEDS:,} per config")
        return list(range(value))
    if isinstance(value, list):
        if not value:
            raise ValueError("the seed list is empty")
        if len(value) > MAX_SEEDS:
            raise ValueError(f"{len(value):,} seeds is over the limit of {MAX_SEEDS:,} per config")
        if len(set(map(repr, value))) != len(value):
            raise ValueError("the seed list repeats a seed")
        if any(isinstance(s, int) and s < 0 for s in value):
            raise ValueError("seeds are non-negative integers")
        if any(isinstance(s, int) and s > MAX_SEED for s in value):
            raise ValueError(f"seeds are at most {MAX_SEED:,} (32 bits, as numpy and most scripts take)")
    return value


def objective_list(value: Any) -> Any:
    """`{maximize: a, minimize: [b, c]}` as the stored `[{metric, direction}, ...]`."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, Mapping) and "metric" in v for v in value):
        return value  # the stored form: [{metric, direction}, ...]
    if not isinstance(value, Mapping):
        raise ValueError("objective is a mapping like {maximize: tta_accuracy, minimize: train_time}")
    out = []
    for direction, metrics in value.items():
        if direction not in ("maximize", "minimize"):
            raise ValueError(f"unknown objective key {direction!r} (maximize or minimize)")
        for metric in [metrics] if isinstance(metrics, str) else metrics or []:
            if not isinstance(metric, str):
                raise ValueError(f"objective.{direction}: a metric name or a list of names")
            out.append({"metric": metric, "direction": direction})
    if not out:
        raise ValueError("objective names no metric")
    if len({o["metric"] for o in out}) != len(out):
        raise ValueError("objective names a metric twice")
    return out


def space_entries(value: Any) -> Any:
    """Each space entry as a list, a RangeSpec or a ChoicesSpec, with errors of the form meant."""
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, entry in value.items():
        if isinstance(entry, list) and not entry:
            raise ValueError(f"{key}: empty list of values")
        if isinstance(entry, list) and len(set(map(repr, entry))) != len(entry):
            raise ValueError(f"{key}: a value is listed twice")
        if isinstance(entry, Mapping) and "choices" not in entry and not {"low", "high"} <= set(entry):
            raise ValueError(f"{key}: a range needs low and high (or give choices: [...])")
        if not isinstance(entry, list | Mapping):
            raise ValueError(f"{key}: give a list, {{low, high}} or {{choices: [...]}} (got {entry!r})")
        if isinstance(entry, Mapping):
            # Its keys say which form was meant: report that form's errors only.
            model = ChoicesSpec if "choices" in entry else RangeSpec
            try:
                entry = model.model_validate(entry)
            except ValidationError as exc:
                errors = exc.errors()
                error = next((e for e in errors if e["type"] == "finite_number"), errors[0])
                field = ".".join(str(p) for p in error["loc"] if not UNION_BRANCH.match(str(p)))
                message = error["msg"].removeprefix("Value error, ")
                if error["type"] == "extra_forbidden":
                    message = f"unknown key ({closest_key(field, list(model.model_fields))})"
                raise ValueError(f"{key}{'.' + field if field else ''}: {message}") from None
        out[key] = entry
    return out
