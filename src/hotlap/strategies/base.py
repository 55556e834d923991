"""The strategy interface: what config to try next, learning from one aggregated value per config.

A strategy sees configs, never seeds: the engine runs a proposed config on every seed of the sweep
and tells the strategy the mean of each objective metric. A strategy states its own facts as class
attributes (finite or not, how many objectives it takes, its options), so the spec names none.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from hotlap.registry import Registry
from hotlap.spec.fields import MAX_CONFIGS, MAX_VALUES, ChoicesSpec, RangeSpec, SpecError, space_size

if TYPE_CHECKING:
    from hotlap.spec.schema import SweepSpec

__all__ = [
    "STRATEGIES",
    "NoOptions",
    "Proposal",
    "Strategy",
    "finite_values",
    "get_strategy",
    "is_finite",
    "list_strategies",
    "register_strategy",
    "strategy_class",
]

Params = dict[str, Any]
History = Sequence[tuple[Params, Sequence[float] | None, float | None]]


@dataclass
class Proposal:
    """A config to evaluate: the swept keys' values, and the strategy's own handle on it."""

    params: Params
    handle: Any = None


class NoOptions(BaseModel):
    """A strategy without options of its own (`strategy: {name, seed, trials}` only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Strategy(ABC):
    """Proposes configs and learns from their results.

    Lifecycle: constructed with the validated spec; `restore` once with the configs evaluated in
    earlier sessions; then `ask` for a config and, once its race closes, `tell` its result, until
    `ask` returns None or the spec's trials or budget are spent.

    Facts, as class attributes:
    - `finite`: it proposes a fixed set of configs, each once, and says how many (`total`); the
      engine runs configs breadth-first and needs no `strategy.trials`. Others (samplers) are asked
      until `strategy.trials` or the budget is spent, one config's race closing before the next
      is asked for, so each answer can inform the next proposal.
    - `int_ranges`: (finite only) an integer range without a step is enumerated value by value.
    - `objectives`: how many objectives it optimizes, (least, most or None); a target counts as one.
    - `learns`: what `tell` says changes what `ask` proposes (a model-based sampler); the
      conformance kit checks it.
    - `options`: a pydantic model of its own keys in `strategy:` (beside name, seed and trials).
    """

    finite: ClassVar[bool] = False
    int_ranges: ClassVar[bool] = False
    objectives: ClassVar[tuple[int, int | None]] = (1, None)
    learns: ClassVar[bool] = False
    options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec

    @abstractmethod
    def ask(self) -> Proposal | None:
        """The next config, or None when the strategy has nothing more to propose."""

    def tell(  # noqa: B027 - a default that does nothing: a strategy that does not learn
        self, proposal: Proposal, values: Sequence[float] | None, constraint: float | None = None
    ) -> None:
        """The mean of each objective metric (None: every run of the config failed), and where a
        target is set, how far the config is from it (<= 0: it reaches the target)."""

    def restore(self, history: History) -> None:  # noqa: B027 - a default that does nothing, like tell
        """Rebuild the strategy's state from configs evaluated in an earlier session."""

    def total(self) -> int | None:
        """How many configs the strategy will propose, where known."""
        return None

    @classmethod
    def check_spec(cls, spec: SweepSpec) -> None:
        """Refuse, in one line (SpecError), a spec this strategy cannot run: options it does not
        take, ranges a finite strategy cannot enumerate, too many configs, no trials or budget for
        a sampler, a number of objectives it does not optimize."""
        from pydantic import ValidationError

        name = spec.strategy.name
        try:
            cls.options.model_validate(spec.strategy.options)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            if error["type"] == "extra_forbidden":
                known = ", ".join(["name", "seed", "trials", *cls.options.model_fields]) or "none"
                raise SpecError(
                    f"strategy.{where}: strategy {name} has no option {where!r} (its keys: {known})"
                ) from None
            raise SpecError(f"strategy.{where}: {error['msg']}") from None
        if cls.finite:
            cls._check_finite(spec)
        elif spec.strategy.trials is None and spec.budget.max_runs is None and spec.budget.max_time is None:
            raise SpecError(f"strategy {name} needs strategy.trials or a budget (max_runs, max_time)")
        if not cls.finite and not (spec.space or spec.variants):
            raise SpecError(f"strategy {name} needs a space to search")
        count = len(spec.objective or [None]) + (spec.target is not None)  # a target counts as one
        least, most = cls.objectives
        if count < least:
            raise SpecError(f"strategy {name} is multi-objective: give {least} or more objective metrics")
        if most is not None and count > most:
            raise SpecError(f"strategy {name} optimizes at most {most} objective(s); the spec has {count}")

    @classmethod
    def _check_finite(cls, spec: SweepSpec) -> None:
        name = spec.strategy.name
        sizes = [len(spec.variants)] if spec.variants else []
        for key, entry in spec.space.items():
            if isinstance(entry, RangeSpec) and not entry.finite and not (cls.int_ranges and entry.is_int):
                raise SpecError(
                    f"space.{key}: strategy {name} enumerates a finite space, and this range has no step"
                )
            size = space_size(entry)
            if size > MAX_VALUES:
                raise SpecError(f"space.{key}: {size:,} values, more than the limit of {MAX_VALUES:,}")
            sizes.append(size)
        if math.prod(sizes) > MAX_CONFIGS:
            raise SpecError(
                f"the space has {math.prod(sizes):,} configs, more than the limit of {MAX_CONFIGS:,} "
                f"for strategy {name}; use random or tpe with strategy.trials"
            )

    def option_values(self) -> BaseModel:
        """The spec's options for this strategy, validated by its `options` model."""
        return self.options.model_validate(self.spec.strategy.options)


def finite_values(entry: Any) -> list[Any]:
    """The values of a space entry a finite strategy enumerates (an int range without a step: all)."""
    if isinstance(entry, RangeSpec):
        if entry.finite:
            return entry.values()
        return list(range(int(entry.low), int(entry.high) + 1))
    if isinstance(entry, ChoicesSpec):
        return list(entry.choices)
    return list(entry)


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def register_strategy(name: str, strategy: type[Strategy] | None = None) -> Any:
    """Register a Strategy subclass as `name`: `register_strategy("mine", Mine)`, or as a class
    decorator `@register_strategy("mine")`."""
    return STRATEGIES.register(name, strategy)


def strategy_class(name: str) -> type[Strategy]:
    return STRATEGIES.get(name)


def get_strategy(spec: SweepSpec) -> Strategy:
    """A new strategy for the spec (`strategy.name` names it)."""
    return STRATEGIES.get(spec.strategy.name)(spec)


def is_finite(name: str) -> bool:
    """Whether the registered strategy `name` enumerates a fixed set of configs."""
    return bool(getattr(STRATEGIES.get(name), "finite", False))


def list_strategies() -> list[str]:
    return STRATEGIES.names()
