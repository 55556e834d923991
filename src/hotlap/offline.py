"""Evaluation without retraining.

`reweight_tta` turns a finished sweep into a *derived sweep*: every stored run's per-view test
logits are combined again under each TTA weighting (the weight of the untranslated views, level 2).
The result is one config per weighting and source config, each on the same trained networks
(paired by seed). It is stored like any sweep, so `hotlap report` and its statistics and
recommendation work on it unchanged. It needs no GPU: 25 runs x 9 weightings take well under a
second.

`evaluate_saved` evaluates saved weights again, timed like a training run's final evaluation.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hotlap.config import config_hash, parse_overrides
from hotlap.errors import HotlapError
from hotlap.io import atomic_write_text
from hotlap.recipes import RunResult, get_recipe
from hotlap.store import Store, SweepRecord
from hotlap.sweep.spec import RangeSpec, SpecError
from hotlap.sweep.validate import parse_spec, stored_spec

__all__ = ["evaluate_saved", "parse_weights", "reweight_tta", "view_weights"]

KEY = "tta_untranslated_weight"
REFERENCE_WEIGHT = 0.5  # the reference recipe's weighting: the derived sweep's baseline


def parse_weights(text: str) -> list[float]:
    """`0.30:0.70:0.05` (low:high:step, both ends included) or `0.3,0.5,0.7`."""
    try:
        if ":" in text:
            low, high, step = (float(part) for part in text.split(":"))
            values = RangeSpec(low=low, high=high, step=step).values()
        else:
            values = [float(part) for part in text.split(",") if part.strip()]
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[-1] if str(exc) else "not numbers"
        raise HotlapError(
            f"--tta-weight {text!r}: expected LOW:HIGH:STEP or a comma list ({reason})"
        ) from None
    if not values or any(not 0 <= v <= 1 for v in values):
        raise HotlapError(f"--tta-weight {text!r}: weights are between 0 and 1")
    return sorted({float(f"{v:.12g}") for v in values})


def view_weights(weight: float) -> np.ndarray:
    """Level-2 view weights (plain, mirror, then the four translated views): as the recipe's TTA."""
    return np.array([weight / 2, weight / 2] + [(1 - weight) / 4] * 4, dtype=np.float32)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def reweight_tta(
    store: Store, source_key: str, weights: Sequence[float], *, name: str | None = None
) -> SweepRecord:
    """Build (or complete) the derived sweep of `source_key` under each TTA weighting."""
    from hotlap.sweep.session import open_sweep

    source = store.require(source_key)
    spec = stored_spec(source.spec)
    recipe = get_recipe(spec.recipe)
    if KEY not in recipe.config_cls.model_fields:
        raise HotlapError(
            f"recipe {recipe.name} has no {KEY}: offline TTA re-weighting does not apply"
        )
    if KEY in spec.space:
        raise HotlapError(f"sweep {source.id} already sweeps {KEY}")
    configs = [c for c in store.configs(source.id) if c.config.get("tta_level") == 2]
    if not configs:
        raise HotlapError(f"sweep {source.id} has no config at tta_level 2: nothing to re-weight")
    weights = sorted({*weights, REFERENCE_WEIGHT})
    single = len(configs) == 1

    raw = spec.to_plain()
    baseline = None
    if spec.baseline is not None or single:
        baseline = {**(spec.baseline or {}), KEY: REFERENCE_WEIGHT}
    derived = {
        **{
            k: raw[k]
            for k in ("recipe", "dataset", "device", "base", "variants", "objective", "target")
        },
        "name": name or f"{source.name}-tta",
        "space": {**raw["space"], KEY: weights},
        "strategy": "grid",
        "seeds": raw["seeds"],
        "baseline": baseline,
        "keep_weights": False,
        "keep_logits": False,
        "derived_from": source.id,
    }
    try:
        derived_spec = parse_spec(derived)
    except SpecError as exc:
        raise HotlapError(f"the derived sweep of {source.id} does not validate: {exc}") from None
    record, _ = open_sweep(store, derived_spec)

    rows: list[tuple[Any, ...]] = []
    for config in configs:
        runs = store.runs(
            source.id, config_id=config.config_id, fidelity="full", stage="search", status="done"
        )
        for weight in weights:
            values = recipe.config_cls.model_validate({**config.config, KEY: weight})
            digest = config_hash(recipe.name, values)
            is_baseline = weight == REFERENCE_WEIGHT and (config.is_baseline or single)
            store.add_config(
                record.id, config_id=digest[:10], config_hash=digest, origin="offline", is_baseline=is_baseline,
                params={**config.params, KEY: weight}, config=values.model_dump(),
            )  # fmt: skip
        for run in runs:
            folder = source.directory / config.config_id / f"seed-{run.seed}"
            labels = _labels(folder, source.directory)
            if not (folder / "logits.npy").exists() or labels is None:
                continue
            logits = np.load(folder / "logits.npy", allow_pickle=False).astype(np.float32)
            for weight in weights:
                combined = np.tensordot(view_weights(weight), logits, axes=1)
                tta_accuracy = float((combined.argmax(1) == labels).mean())
                digest = config_hash(
                    recipe.name, recipe.config_cls.model_validate({**config.config, KEY: weight})
                )
                metrics = {**run.values, "tta_accuracy": tta_accuracy}
                rows.append(
                    (
                        digest[:10],
                        run.seed,
                        metrics,
                        run.device,
                        run.host,
                        run.started,
                        run.ended,
                        run.session,
                    )
                )
    if not rows:
        raise HotlapError(
            f"sweep {source.id} has no finished run with stored TTA logits (keep_logits was off, or no run finished)"
        )
    store.record_done(record.id, rows)
    record.directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        record.directory / "spec.yaml", yaml.safe_dump(derived_spec.to_plain(), sort_keys=False)
    )
    if (source.directory / "env.json").exists():
        shutil.copyfile(source.directory / "env.json", record.directory / "env.json")
    message = f"derived offline from {source.id}: {len(rows) // len(weights)} runs x {len(weights)} TTA weightings"
    store.update_sweep(record.id, state="done", message=message)
    result = store.sweep(record.id)
    assert result is not None
    return result


def _labels(folder: Path, sweep_directory: Path) -> np.ndarray | None:
    """The test labels the run's logits score against: the run's own, or (sweeps stored before
    runs kept theirs) the sweep's."""
    for path in (folder / "labels.npy", sweep_directory / "test_labels.npy"):
        if path.exists():
            return np.load(path, allow_pickle=False).astype(np.int64)
    return None


def evaluate_saved(
    recipe_name: str, overrides: Sequence[str], weights_path: str | Path, *, data: str, device: str = "auto",
    tta_level: int | None = None, data_dir: str | None = None, warmup: bool = True,
) -> RunResult:  # fmt: skip
    """Evaluate a saved state_dict (loaded with weights_only=True), timed as a final evaluation."""
    import torch

    from hotlap.data import DeviceData, load_dataset
    from hotlap.envinfo import resolve_device

    recipe = get_recipe(recipe_name)
    if recipe.evaluate is None:
        raise HotlapError(f"recipe {recipe.name} cannot evaluate saved weights")
    parsed = parse_overrides(overrides)
    if tta_level is not None:
        parsed["tta_level"] = tta_level
    config = recipe.config(parsed)
    path = Path(weights_path)
    if not path.is_file():
        raise HotlapError(f"--weights {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated file, a pickle with code in it, not a torch file at all
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise HotlapError(f"--weights {path}: not a loadable checkpoint ({reason[:160]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HotlapError(f"--weights {path}: expected a state_dict (a mapping of tensors)")
    resolved = resolve_device(device)
    device_data = DeviceData.from_dataset(load_dataset(data, data_dir), resolved)
    try:
        return recipe.evaluate(config, device_data, state, warmup=warmup)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise HotlapError(
            f"--weights {path} does not fit {recipe.name} with this config: {first[:200]}"
        ) from None
