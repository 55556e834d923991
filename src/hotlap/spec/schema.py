"""The sweep spec's shape: `SweepSpec`, one YAML file describing a whole study, validated before
anything runs. Its sugar is turned into the stored form by `hotlap.spec.sugar`, its checks against
the registries are `hotlap.spec.validate`'s; every problem is one line naming the field (SpecError).
The keys, with their descriptions, are listed in the docs' generated reference (spec)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator

from hotlap.decisions import look_schedule
from hotlap.metrics import V1_METRICS, Metric, get_metric, metric_from_plain
from hotlap.spec import sugar
from hotlap.spec.fields import (
    IDENTITY_FIELDS,
    MAX_NAME,
    MAX_SEED,
    RECIPE_KEY,
    SCORE,
    VARIANT_KEY,
    BudgetSpec,
    ConstraintSpec,
    ExecutorSpec,
    FidelitySpec,
    MetricSpec,
    Objective,
    PruningSpec,
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
    """A whole study: what to train, which configs, on which seeds, judged by what, and how.

    Every field's `description` is its entry in the generated reference (docs/reference/spec.md).
    """

    name: str = Field(
        pattern=rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_NAME - 1}}}$",
        description="letters, digits, `_ . -`; the sweep's id is `<name>-<YYYYmmdd-HHMMSS>`, and running "
        "the spec again continues the sweep of that name",
    )
    recipe: str = Field(
        description="a registered recipe (`hotlap recipes`); may be left out when `space` sweeps `recipe`"
    )
    dataset: str = Field(
        "cifar10", description="`cifar10`, `cifar100`, `digits`, `synthetic[:N]` or a plugin's"
    )
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="`auto`, `cpu`, `cuda` or `cuda:N`"
    )
    base: dict[str, Any] = Field(default_factory=dict, description="overrides applied to every config")
    space: dict[str, SpaceEntry] = Field(
        default_factory=dict,
        description="per config key: a list of values, a range `{low, high, log, step}`, or `{choices: [...]}`",
    )
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="named override sets, swept as the key `variant`; a variant may set `recipe`",
    )
    strategy: StrategySpec = Field(
        json_schema_extra={"written": "str | mapping"},
        default_factory=lambda: StrategySpec(name="grid"),
        description="`grid`, `brute`, `random`, `tpe`, `nsga2`, `qmc`, `gp` or a plugin's; "
        "or `{name, seed, trials, ...its own options}`",
    )
    seeds: list[int] = Field(
        json_schema_extra={"written": "int | list | mapping"},
        default_factory=lambda: [0],
        description="a count n (seeds 0..n-1), a list, or `{min, max, step, futility}` for racing "
        "(stored as `seeds` and `racing`)",
    )
    objective: list[Objective] | None = Field(
        None,
        json_schema_extra={"written": "mapping"},
        description="`{target: {...}, minimize: METRIC}`, or `{maximize: [...], minimize: [...]}`; "
        "default: the recipe's first metric maximized (with a target, its first time metric minimized)",
    )
    budget: BudgetSpec = Field(BudgetSpec(), description="`{max_runs, max_time}` over all sessions")
    baseline: dict[str, Any] | None = Field(
        None, description="overrides defining the baseline config, always run; omit for none"
    )
    fidelity: FidelitySpec | None = Field(
        None, description="`{key, low, promote}`: every config at `key=low`, then the best `promote` in full"
    )
    racing: RacingSpec | None = Field(None, description="written by hotlap from `seeds: {min, max, step}`")
    pruning: PruningSpec | None = Field(
        None,
        description="`{rule, metric, min_epochs, reduction_factor, ...}`: stop a run that falls behind at "
        "an epoch (Optuna's pruners) and close its config; omit for none",
    )
    target: TargetSpec | None = Field(None, description="written by hotlap from `objective.target`")
    verify: VerifySpec | None = Field(
        None, description="`{seeds, candidates}`: the recommendation and the baseline again on fresh seeds"
    )
    max_consecutive_failures: int = Field(
        5, ge=1, description="stop the sweep after this many failed runs in a row"
    )
    keep_weights: bool | Literal["best"] = Field(
        True,
        description="store every run's final weights (`model.pt`); `best`: only each config's best "
        "seed's, by the quality metric (a 45 MB ResNet-50 a run adds up)",
    )
    log_every: int | None = Field(
        None,
        ge=0,
        description="epochs between the untimed per-epoch test evaluations the airbench recipes log "
        "(0: the last epoch only); default: 0 in a sweep (the final evaluation is what is judged), "
        "1 where `pruning` judges the epochs",
    )
    checkpoint_every: int | None = Field(
        None,
        ge=1,
        description="save each run's training state every N epochs; a killed run resumes from its "
        "last one, not epoch 0 (recipes that can: resnet)",
    )
    keep_artifacts: bool = Field(
        True,
        description="store every run's other artifacts (airbench: per-view test logits, for offline TTA)",
    )
    run_folders: Literal["all", "artifacts"] = Field(
        "all",
        description="`all`: a folder per run (config.json, metrics.json, its artifacts); `artifacts`: "
        "only for runs that have artifacts (weights, logits, a program's output), the rest in the "
        "store and runs.jsonl alone (a sweep of 50,000 short runs leaves no 100,000 folders)",
    )
    _notices: list[str] = PrivateAttr(default_factory=list)  # for the user before a run (old key names)
    executor: ExecutorSpec = Field(
        json_schema_extra={"written": "str | mapping"},
        default_factory=ExecutorSpec,
        description="a registered executor, or `{name, ...options}`: `inprocess` (default), `ray`",
    )
    timing: Literal["exclusive", "packed"] = Field(
        "exclusive",
        description="`packed` accepts times measured with several runs on one GPU (the report says "
        "they do not compare with runs alone); `exclusive` refuses packing where a time is judged",
    )
    callbacks: list[str] = Field(
        default_factory=list, description="callbacks by name: `wandb`, `mlflow`, ..."
    )
    costs: list[str] = Field(
        default_factory=list,
        description="cost metrics measured after each run, untimed: `latency_batch1`, `peak_memory`, `energy`, ...",
    )
    constraints: list[ConstraintSpec] = Field(
        default_factory=list,
        description="`[{metric, at_most | at_least}]`: bounds on a config's mean a recommended config keeps",
    )
    score: dict[str, float] = Field(
        default_factory=dict,
        description="`{METRIC: WEIGHT}`: a metric `score` per run, the weighted sum (maximize it)",
    )
    metrics: list[MetricSpec] | None = Field(
        None,
        description="written by hotlap: the recipe's metric definitions, so a stored sweep describes itself",
    )
    derived_from: str | None = Field(
        None, description="written by `hotlap eval`: the sweep whose stored runs this one re-evaluates"
    )
    reweight: RangeSpec | list[float] | None = Field(
        None,
        description="a list or `{low, high, step}` of the recipe's re-weighting field (airbench: the "
        "untranslated TTA views' weight): when done, the trained networks are evaluated at each value "
        "offline, into the derived sweep `<name>` + the recipe's suffix (airbench: `-tta`); was `tta_weights`",
    )

    @field_validator("score")
    @classmethod
    def _score(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name == SCORE:
                raise ValueError(f"{SCORE} is the weighted sum itself; weigh the metrics it sums")
            if not math.isfinite(weight) or weight == 0:
                raise ValueError(f"{name}: a weight is a finite number other than 0 (got {weight!r})")
        return value

    @field_validator("keep_weights", mode="before")
    @classmethod
    def _keep_weights(cls, value: Any) -> Any:
        if isinstance(value, bool) or value == "best":
            return value
        raise ValueError(f"true, false or best (got {value!r})")

    def preloaded_dataset(self, uses_data: bool) -> str | None:
        """The dataset an executor loads before the first run (a dataset that fails to load does so
        before anything is written): none for a recipe that loads its own (`uses_data` false: a
        script), nor for a derived sweep, whose evaluations load it only where one runs a network
        again (re-weighting stored views needs none: `hotlap eval --reweight`)."""
        return self.dataset if uses_data and self.derived_from is None else None

    def reweight_values(self) -> list[float]:
        """The values `reweight` asks for, a range spelled out ([] where it is not set)."""
        if self.reweight is None:
            return []
        return self.reweight.values() if isinstance(self.reweight, RangeSpec) else list(self.reweight)

    @model_validator(mode="before")
    @classmethod
    def _restructure(cls, data: Any) -> Any:
        return sugar.restructure(data)

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
        return sugar.seed_list(value)

    @field_validator("objective", mode="before")
    @classmethod
    def _objective(cls, value: Any) -> Any:
        return sugar.objective_list(value)

    @field_validator("space", mode="before")
    @classmethod
    def _space(cls, value: Any) -> Any:
        return sugar.space_entries(value)

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if VARIANT_KEY in self.space:
            raise ValueError(f"space.{VARIANT_KEY} is reserved for the variants section")
        if any(not name.strip() for name in self.variants):
            raise ValueError("variants: a variant's name is not empty (the report names configs by it)")
        for name in self.variants:
            if not name.isprintable():
                raise ValueError(
                    f"variants: {name!r}: a variant's name has no control character (a line break, NUL, escape)"
                )
        if RECIPE_KEY in self.base:
            raise ValueError(f"base.{RECIPE_KEY}: name the recipe at the top level (or sweep it in space)")

        if self.fidelity is not None and self.fidelity.key in self.space:
            raise ValueError(f"fidelity.key {self.fidelity.key!r} is also swept in space")
        if self.racing is not None and self.racing.step > len(self.seeds):
            raise ValueError("seeds.step must not exceed seeds.max")
        if self.verify is not None and max(self.seeds) + self.verify.seeds > MAX_SEED:
            raise ValueError(f"verify's fresh seeds follow the largest seed and go past {MAX_SEED:,}")
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
        identity = {name: _plain(getattr(self, name)) for name in IDENTITY_FIELDS}
        if self.pruning is not None:  # (only when set: sweeps stored before it keep their digest)
            identity["pruning"] = _plain(self.pruning)
        return identity

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
