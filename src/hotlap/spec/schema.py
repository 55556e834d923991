"""The sweep spec: one YAML file that describes a whole study, validated before anything runs.

    name: lr-wd-grid
    recipe: airbench94
    dataset: cifar10
    base: {epochs: 9.9}                       # overrides applied to every config
    space:
      lr: [10.0, 11.5, 13.0]                  # a list: grid values
      weight_decay: {low: 0.01, high: 0.02, step: 0.005}   # a range (log, step optional)
      label_smoothing: {choices: [0.1, 0.2]}
    variants:                                 # named override sets, one more swept dimension
      cyclic: {translate_schedule: cyclic}
    strategy: grid                            # or {name: tpe, seed: 0, trials: 40}
    seeds: 5                                  # or an explicit list [0, 1, 2]
    objective: {maximize: tta_accuracy}       # any metric the recipe declares; or {maximize: [...], minimize: [...]}
    budget: {max_runs: 500, max_time: 3600}
    baseline: {}                              # overrides of the baseline config
    fidelity: {key: epochs, low: 3, promote: 3}

With `recipe: script`, a top-level `script:` block (command, metrics, timeout, cwd, env; see
hotlap.recipes.script) becomes `base.script`, part of every config.

Every problem is reported as one line naming the field (`space.lr.low: ...`), as a SpecError.
This module holds the spec's shape; `hotlap.spec.validate` checks it against the registries
(recipes, metrics, datasets, strategies, executors, callbacks).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from hotlap.decisions import look_schedule
from hotlap.metrics import V1_METRICS, Metric, get_metric, metric_from_plain
from hotlap.spec.errors import UNION_BRANCH, closest_key
from hotlap.spec.fields import (
    IDENTITY_FIELDS,
    MAX_NAME,
    MAX_SEED,
    MAX_SEEDS,
    RECIPE_KEY,
    SCORE,
    TTA_SUFFIX,
    VARIANT_KEY,
    BudgetSpec,
    ChoicesSpec,
    ConstraintSpec,
    ExecutorSpec,
    FidelitySpec,
    MetricSpec,
    Objective,
    RacingSpec,
    RangeSpec,
    SpaceEntry,
    SpecError,
    StrategySpec,
    TargetSpec,
    VerifySpec,
    _Strict,
)


class SweepSpec(_Strict):
    name: str = Field(pattern=rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}$")
    recipe: str
    dataset: str = "cifar10"
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    base: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, SpaceEntry] = Field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    strategy: StrategySpec = Field(default_factory=lambda: StrategySpec(name="grid"))
    seeds: list[int] = Field(default_factory=lambda: [0])
    objective: list[Objective] | None = None  # None: resolved from the recipe's metrics
    budget: BudgetSpec = BudgetSpec()
    baseline: dict[str, Any] | None = None
    fidelity: FidelitySpec | None = None
    racing: RacingSpec | None = None
    target: TargetSpec | None = None
    verify: VerifySpec | None = None
    max_consecutive_failures: int = Field(5, ge=1)
    keep_weights: bool = True
    keep_artifacts: bool = True  # every other artifact of each run (airbench: per-view test logits)
    _notices: list[str] = PrivateAttr(default_factory=list)  # for the user before a run (old key names)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    # `packed`: times measured with several runs on one GPU are accepted (the report says they are
    # not comparable with solo runs); `exclusive` refuses packing where the objective is a time.
    timing: Literal["exclusive", "packed"] = "exclusive"
    callbacks: list[str] = Field(default_factory=list)
    # Cost metrics the worker measures after each run (hotlap.costs): latency, memory, energy.
    costs: list[str] = Field(default_factory=list)
    # Bounds a recommended config must keep on its metrics' means (a latency, FLOPs, memory).
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    # A weighted sum of metrics, as one metric `score` per run (for tools that score that way):
    # {tta_accuracy: 1.0, avg_bits: -0.01}; maximize it with `objective: {maximize: score}`.
    score: dict[str, float] = Field(default_factory=dict)
    # The recipe's metric definitions, stored with the sweep so that it describes itself.
    metrics: list[MetricSpec] | None = None
    # Set by `hotlap eval`: the sweep whose stored runs this one re-evaluates.
    derived_from: str | None = None
    # After training: re-weight the TTA views offline into a derived sweep.
    tta_weights: RangeSpec | list[float] | None = None

    @field_validator("score")
    @classmethod
    def _score(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name == SCORE:
                raise ValueError(f"{SCORE} is the weighted sum itself; weigh the metrics it sums")
            if not math.isfinite(weight) or weight == 0:
                raise ValueError(f"{name}: a weight is a finite number other than 0 (got {weight!r})")
        return value

    @field_validator("tta_weights")
    @classmethod
    def _tta_weights(cls, value: Any) -> Any:
        values = value.values() if isinstance(value, RangeSpec) else value
        if values is not None and (not values or any(not 0 <= v <= 1 for v in values)):
            raise ValueError("TTA weights are between 0 and 1")
        return value

    def tta_weight_values(self) -> list[float]:
        if self.tta_weights is None:
            return []
        return (
            self.tta_weights.values() if isinstance(self.tta_weights, RangeSpec) else list(self.tta_weights)
        )

    @model_validator(mode="before")
    @classmethod
    def _restructure(cls, data: Any) -> Any:
        """`seeds: {min, max, step}` -> seeds 0..max-1 and `racing`; `objective.target` -> `target`."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if "keep_logits" in data:  # keep_artifacts' name before 0.2 (stored specs have it too)
            if "keep_artifacts" in data:
                raise ValueError("keep_logits is the old name of keep_artifacts: give keep_artifacts only")
            data["keep_artifacts"] = data.pop("keep_logits")
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

    @field_validator("executor", mode="before")
    @classmethod
    def _executor(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
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

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> Any:
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

    @field_validator("space", mode="before")
    @classmethod
    def _space(cls, value: Any) -> Any:
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

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if VARIANT_KEY in self.space:
            raise ValueError(f"space.{VARIANT_KEY} is reserved for the variants section")
        if any(not name.strip() for name in self.variants):
            raise ValueError("variants: a variant's name is not empty (the report names configs by it)")
        if RECIPE_KEY in self.base:
            raise ValueError(f"base.{RECIPE_KEY}: name the recipe at the top level (or sweep it in space)")

        if self.fidelity is not None and self.fidelity.key in self.space:
            raise ValueError(f"fidelity.key {self.fidelity.key!r} is also swept in space")
        if self.racing is not None and self.racing.step > len(self.seeds):
            raise ValueError("seeds.step must not exceed seeds.max")
        if self.verify is not None and max(self.seeds) + self.verify.seeds > MAX_SEED:
            raise ValueError(f"verify's fresh seeds follow the largest seed and go past {MAX_SEED:,}")
        if self.tta_weights is not None and len(self.name) + len(TTA_SUFFIX) > MAX_NAME:
            raise ValueError(  # found before any run, not once the whole sweep has trained
                f"name: with tta_weights the derived sweep is named {self.name}{TTA_SUFFIX}, longer than "
                f"{MAX_NAME} characters; shorten the name to {MAX_NAME - len(TTA_SUFFIX)} at most"
            )
        return self

    # --- derived -----------------------------------------------------------------------------

    @property
    def swept_keys(self) -> list[str]:
        return ([VARIANT_KEY] if self.variants else []) + list(self.space)

    @property
    def primary(self) -> Objective:
        assert self.objective, "resolved by validation"
        return self.objective[0]

    @functools.cached_property
    def _metric_map(self) -> dict[str, Metric]:
        """Built once per spec: the engine and the analysis look metrics up per run and config."""
        if self.metrics is None:  # stored before metrics were data
            return {name: get_metric(name) for name in V1_METRICS}
        return {m.name: metric_from_plain(m.model_dump()) for m in self.metrics}

    def metric_defs(self) -> list[Metric]:
        """The sweep's metrics (the recipe's declaration, stored with it), in declared order."""
        return list(self._metric_map.values())

    def metric(self, name: str) -> Metric:
        metric = self._metric_map.get(name)
        if metric is None:
            known = ", ".join(self._metric_map)
            raise SpecError(f"unknown metric {name!r} (the recipe reports: {known})")
        return metric

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metric_defs()]

    @property
    def confidence(self) -> float:
        return self.target.confidence if self.target is not None else 0.95

    def look_schedule(self) -> tuple[int, ...]:
        """The seeds a racing config has at each planned look."""
        if self.racing is None:
            return (len(self.seeds),)
        return look_schedule(self.racing.min, len(self.seeds), self.racing.step)

    def futility_alpha(self) -> float | None:
        """The level a config fails at (None: the pass level)."""
        return self.racing.futility if self.racing is not None else None

    def verify_seeds(self) -> list[int]:
        """Fresh seeds, never used in the search: they start after the largest search seed."""
        if self.verify is None:
            return []
        start = max(self.seeds) + 1
        return list(range(start, start + self.verify.seeds))

    def overrides_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """base, then the variant's overrides, then the swept values (the recipe key apart:
        `recipe_of` reads it)."""
        overrides = dict(self.base)
        if VARIANT_KEY in params:
            overrides.update(self.variants[params[VARIANT_KEY]])
        overrides.update({k: v for k, v in params.items() if k != VARIANT_KEY})
        overrides.pop(RECIPE_KEY, None)
        return overrides

    def baseline_overrides(self) -> dict[str, Any]:
        overrides = {**self.base, **(self.baseline or {})}
        overrides.pop(RECIPE_KEY, None)
        return overrides

    def recipe_of(self, params: Mapping[str, Any] | None, *, baseline: bool = False) -> str:
        """The recipe of the config with these swept values: the swept recipe key, else the
        variant's, else the spec's `recipe`."""
        if baseline:
            return str((self.baseline or {}).get(RECIPE_KEY, self.recipe))
        params = params or {}
        if RECIPE_KEY in params:
            return str(params[RECIPE_KEY])
        variant = self.variants.get(params.get(VARIANT_KEY, ""), {})
        return str(variant.get(RECIPE_KEY, self.recipe))

    @property
    def recipe_names(self) -> list[str]:
        """Every recipe a config of this sweep can have, in the order the spec names them."""
        names: list[str] = []
        swept = self.space.get(RECIPE_KEY)
        if isinstance(swept, list):
            names.extend(swept)
        elif not self.variants or any(RECIPE_KEY not in v for v in self.variants.values()):
            names.append(self.recipe)
        names.extend(str(v[RECIPE_KEY]) for v in self.variants.values() if RECIPE_KEY in v)
        if self.baseline is not None:
            names.append(self.recipe_of(None, baseline=True))
        return list(dict.fromkeys(names))

    @property
    def recipe_label(self) -> str:
        """How the sweep names its recipe: the recipe, or the recipes it spans joined by "+"."""
        return "+".join(self.recipe_names)

    def identity(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in IDENTITY_FIELDS}

    def to_plain(self) -> dict[str, Any]:
        return _plain(self)

    def digest(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
