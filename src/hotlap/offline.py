"""Evaluation without training.

`derive_sweep` turns a finished sweep into a *derived sweep*: each of its configs again under other
values of the recipe's evaluation-only fields (airbench: the TTA weighting), one config per value
and source config, evaluated on the same trained networks (paired by seed) by the recipe's
`evaluate`. The engine drives it like any sweep (exactly once, resumable, callbacks), so `hotlap
report` and its statistics and recommendation work on it unchanged. Re-weighting airbench's TTA
views needs no GPU: it is a weighted sum of the stored per-view logits.

`evaluate_saved` evaluates saved weights again, timed like a training run's final evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hotlap.config import config_hash, parse_overrides, parse_value
from hotlap.errors import HotlapError
from hotlap.executors.base import warms
from hotlap.io import load_weights
from hotlap.recipes import RunResult, SourceRun, get_recipe
from hotlap.spec.fields import RangeSpec, SpecError
from hotlap.spec.posthoc import with_objective
from hotlap.spec.validate import parse_spec, stored_spec
from hotlap.store import Store, SweepRecord

__all__ = ["derive_reweighted", "derive_sweep", "evaluate_saved", "parse_values"]


def _reason(exc: Exception) -> str:
    """The cause of a bad value in a few words: pydantic's own message, without its help link."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in errors())
        except Exception:  # not pydantic's
            pass
    lines = [line for line in str(exc).splitlines() if line.strip() and "errors.pydantic.dev" not in line]
    return lines[-1].strip() if lines else "not numbers"


def _saved_config(path: Path, recipe: Any) -> dict[str, Any]:
    """The resolved config in the config.json beside saved weights (a run folder's, or best/'s),
    where it names this recipe; {} where there is none."""
    import json

    try:
        saved = json.loads((path.parent / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    if (
        not isinstance(saved, dict)
        or saved.get("recipe") != recipe.name
        or not isinstance(saved.get("config"), dict)
    ):
        return {}
    fields = set(recipe.config_cls.model_fields)
    return {k: v for k, v in saved["config"].items() if k in fields}


def _misfit(expected: Mapping[str, Any], found: Mapping[str, Any]) -> str | None:
    """What keeps `found` (a state_dict from a file) from loading into a network whose state_dict
    is `expected`: missing and unexpected keys, and shapes that differ, the first few of each."""

    def few(items: Sequence[str]) -> str:
        return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")

    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [
        f"{k} is {tuple(found[k].shape)} in the file, {tuple(expected[k].shape)} for this config"
        for k in expected
        if k in found and tuple(found[k].shape) != tuple(expected[k].shape)
    ]
    parts = (
        ([f"missing keys {few(missing)}"] if missing else [])
        + ([f"unexpected keys {few(unexpected)}"] if unexpected else [])
        + ([few(shapes)] if shapes else [])
    )
    if not parts:
        return None
    return "; ".join(parts) + " (give the overrides it was trained with, e.g. width=...)"


def parse_values(text: str, option: str) -> list[Any]:
    """`0.30:0.70:0.05` (low:high:step, both ends included; integers stay integers) or a comma list
    `0,1,2` / `0.3,0.5` / `fp16,bf16` (each value typed as a config override is)."""
    try:
        if ":" in text:
            low, high, step = (float(part) for part in text.split(":"))
            if low > high:
                raise HotlapError(
                    f"{option} {text!r}: LOW {low:g} is above HIGH {high:g}; write {high:g}:{low:g}:{step:g}"
                )
            if step <= 0 or (high > low and step > high - low):
                raise HotlapError(f"{option} {text!r}: STEP must be above 0 and at most HIGH - LOW")
            if low == high:
                return [int(low) if low.is_integer() and high.is_integer() and step.is_integer() else low]
            if all(v.is_integer() for v in (low, high, step)):
                low, high, step = int(low), int(high), int(step)
            values: list[Any] = RangeSpec(low=low, high=high, step=step).values()
        else:
            values = [parse_value(part.strip()) for part in text.split(",") if part.strip()]
    except (ValueError, TypeError) as exc:
        reason = _reason(exc)
        raise HotlapError(f"{option} {text!r}: expected LOW:HIGH:STEP or a comma list ({reason})") from None
    if not values:
        raise HotlapError(f"{option} {text!r}: no value")
    if any(isinstance(v, list | dict) or v is None for v in values):
        raise HotlapError(f"{option} {text!r}: expected LOW:HIGH:STEP or a comma list of plain values")
    rounded = {float(f"{v:.12g}") if isinstance(v, float) else v for v in values}
    return sorted(rounded, key=lambda v: (isinstance(v, str), v))


def derive_reweighted(
    store: Store,
    source_key: str,
    weights: Sequence[Any] | None,
    vary: Mapping[str, Sequence[Any]] | None = None,
    *,
    name: str | None = None,
    device: str | None = None,
    objective: Sequence[str] | None = None,
    option: str = "--reweight",
) -> SweepRecord:
    """`derive_sweep` where `weights` (if given) are values of the source recipe's re-weighting
    field (its `Reweighting` hook: the airbench family's TTA weighting), evaluated on the configs
    it changes, its reference value the baseline, the sweep named with the hook's suffix; `option`
    names where the values came from in an error."""
    fields = dict(vary or {})
    if weights is None:
        return derive_sweep(store, source_key, fields, name=name, device=device, objective=objective)
    source = store.require(source_key)
    recipe = get_recipe(source.recipe)
    hook = recipe.reweighting
    if hook is None:
        raise HotlapError(
            f"recipe {recipe.name} stores nothing to re-weight offline (the airbench family does)"
        )
    fields[hook.field] = hook.check(weights, option)
    return derive_sweep(
        store,
        source_key,
        fields,
        reference={hook.field: hook.reference},
        where=hook.where,
        name=name or f"{source.name}{hook.suffix}",
        device=device,
        objective=objective,
    )


def derive_sweep(
    store: Store,
    source_key: str,
    vary: Mapping[str, Sequence[Any]],
    *,
    reference: Mapping[str, Any] | None = None,
    where: Callable[[dict[str, Any]], bool] | None = None,
    name: str | None = None,
    device: str | None = None,
    objective: Sequence[str] | None = None,
) -> SweepRecord:
    """Create (or reopen) the derived sweep of `source_key` that varies the evaluation-only
    fields in `vary`, over the source's configs for which `where(config)` holds. `reference`
    values mark the baseline (the source's baseline at those values); `objective`:
    `objective.*` overrides of the source's objective (`objective.target.at_least=0.94`). Nothing
    is evaluated here: drive the returned sweep with the engine."""
    from hotlap.engine.session import open_sweep

    source = store.require(source_key)
    spec = stored_spec(source.spec)
    if spec.derived_from is not None:
        raise HotlapError(f"sweep {source.id} is itself derived: derive from {spec.derived_from}")
    recipe = get_recipe(spec.recipe)
    for field in vary:
        if not recipe.config_cls.knows(field):
            raise HotlapError(f"recipe {recipe.name} has no field {field!r}")
        if recipe.config_cls.field_of(field) not in recipe.eval_fields:
            shared = ", ".join(sorted(recipe.eval_fields)) or "none"
            raise HotlapError(
                f"{field} changes {recipe.name}'s training: only evaluation-only fields can be evaluated "
                f"on trained networks ({shared}); sweep it instead"
            )
        if field in spec.space:
            raise HotlapError(f"sweep {source.id} already sweeps {field}")
    configs = [c for c in store.configs(source.id) if where is None or where(c.config)]
    if not configs:
        raise HotlapError(f"sweep {source.id} has no config to evaluate that way")
    values = {
        field: sorted({*choices, *([reference[field]] if reference and field in reference else [])})
        for field, choices in vary.items()
    }
    combos = [{}]
    for field, choices in values.items():
        combos = [{**combo, field: value} for combo in combos for value in choices]
    single = len(configs) == 1

    raw = spec.to_plain()
    baseline = None
    if reference is not None and (spec.baseline is not None or single):
        baseline = {**(spec.baseline or {}), **reference}
    judged = with_objective({k: raw[k] for k in ("objective", "target")}, objective or [])
    derived = {
        **{k: raw[k] for k in ("recipe", "dataset", "variants", "strategy", "metrics")},
        **judged,
        "base": {k: v for k, v in raw["base"].items() if k not in values},  # the varied keys: swept
        "name": name or f"{source.name}-{'-'.join(vary)}",
        "device": device or raw["device"],
        "space": {**raw["space"], **values},
        "seeds": list(spec.seeds),
        "baseline": baseline,
        "keep_weights": False,
        "keep_artifacts": False,
        "derived_from": source.id,
    }
    try:
        derived_spec = parse_spec(derived)
    except SpecError as exc:
        raise HotlapError(f"the derived sweep of {source.id} does not validate: {exc}") from None
    # Every derived config resolved (and a bad value refused in one line) before anything is written.
    planned = []
    for config in configs:
        for combo in combos:
            resolved = recipe.config({**config.config, **combo})
            is_baseline = (
                reference is not None
                and all(combo.get(k) == v for k, v in reference.items())
                and (config.is_baseline or single)
            )
            planned.append((config, combo, resolved, is_baseline))
    try:
        record, _ = open_sweep(store, derived_spec)
    except SpecError as exc:  # a derived sweep of that name exists, with other values
        raise SpecError(
            f"{exc}; `hotlap eval --name NAME` gives this derived sweep a name of its own"
        ) from None
    for config, combo, resolved, is_baseline in planned:
        digest = config_hash(recipe.name, resolved)
        store.add_config(
            record.id,
            config_id=digest[:10],
            config_hash=digest,
            origin="derived",
            is_baseline=is_baseline,
            params={**config.params, **combo},
            config=resolved.model_dump(),
        )
    return record


def evaluate_saved(
    recipe_name: str,
    overrides: Sequence[str],
    weights_path: str | Path,
    *,
    data: str,
    device: str = "auto",
    data_dir: str | None = None,
    warmup: bool = True,
) -> RunResult:
    """Evaluate a saved state_dict (loaded with weights_only=True), timed as a final evaluation."""
    import torch

    from hotlap.data import DeviceData, load_dataset
    from hotlap.envinfo import resolve_device

    recipe = get_recipe(recipe_name)
    if recipe.evaluate is None:
        raise HotlapError(f"recipe {recipe.name} cannot evaluate saved weights")
    parsed = parse_overrides(overrides)
    path = Path(weights_path)
    if not path.is_file():
        raise HotlapError(f"--weights {path}: no such file")
    # The run folder's config.json says how the network was built (width, ...); overrides win.
    config = recipe.config({**_saved_config(path, recipe), **parsed})
    try:
        state = load_weights(path)
    except ValueError as exc:
        raise HotlapError(f"--weights {path}: not a loadable checkpoint: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HotlapError(f"--weights {path}: expected a state_dict (a mapping of tensors)")
    resolved = resolve_device(device)
    device_data = DeviceData.from_dataset(load_dataset(data, data_dir), resolved)
    try:
        warm = warms("auto" if warmup else False, device_data.device)  # (a CPU has nothing to warm)
        return recipe.evaluate(config, device_data, SourceRun(state=state), warmup=warm)
    except RuntimeError as exc:  # load_state_dict refused it: say which keys and shapes
        expected = recipe.build_model(config, device_data.num_classes).state_dict()
        problem = _misfit(expected, state) or str(exc).strip().splitlines()[0][:300]
        raise HotlapError(
            f"--weights {path} does not fit {recipe.name} with this config: {problem}"
        ) from None
