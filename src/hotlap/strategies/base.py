"""Search strategies: what config to try next, learning from one aggregated value per config.

A strategy sees configs, never seeds: the engine runs a proposed config on every seed of the sweep
and tells the strategy the mean of each objective metric. `grid` and `brute` enumerate a finite
space; `random`, `tpe` and `nsga2` are Optuna's samplers driven through ask/tell, rebuilt from the
stored results when a sweep resumes.
"""

from __future__ import annotations

import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hotlap.spec.schema import VARIANT_KEY, ChoicesSpec, RangeSpec, SweepSpec

__all__ = [
    "Proposal",
    "Strategy",
    "get_strategy",
    "is_finite",
    "list_strategies",
    "register_strategy",
]

Params = dict[str, Any]
CONSTRAINT = "target"  # a config's distance from the target: <= 0 when it reaches it


@dataclass
class Proposal:
    """A config to evaluate: the swept keys' values, and the strategy's own handle on it."""

    params: Params
    handle: Any = None


class Strategy(ABC):
    """Proposes configs and learns from their results.

    A `finite` strategy proposes a fixed set of configs, each once, and says how many (`total`):
    the engine then runs configs breadth-first and counts no trials. Others (samplers) are asked
    until `strategy.trials` or the budget is spent, and a config's race closes before the next
    config is asked for, so each answer can inform the next proposal.
    """

    finite: ClassVar[bool] = False

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec

    @abstractmethod
    def ask(self) -> Proposal | None:
        """The next config, or None when the strategy has nothing more to propose."""

    def tell(  # noqa: B027
        self, proposal: Proposal, values: Sequence[float] | None, constraint: float | None = None
    ) -> None:
        """The mean of each objective metric (None: every run of the config failed), and where a
        target is set, how far the config is from it (<= 0: it reaches the target)."""

    def restore(  # noqa: B027 - a default that does nothing, like tell
        self, history: Sequence[tuple[Params, Sequence[float] | None, float | None]]
    ) -> None:
        """Rebuild the strategy's state from configs evaluated in an earlier session."""

    def total(self) -> int | None:
        """How many configs the strategy will propose, where known."""
        return None


def _canonical(value: Any) -> Any:
    return float(f"{value:.12g}") if isinstance(value, float) else value


def finite_values(entry: Any) -> list[Any]:
    if isinstance(entry, RangeSpec):
        if entry.finite:
            return entry.values()
        return list(range(int(entry.low), int(entry.high) + 1))  # brute over an int range
    if isinstance(entry, ChoicesSpec):
        return list(entry.choices)
    return list(entry)


class _Enumeration(Strategy):
    """Every combination of the swept values, the last key varying fastest."""

    finite = True

    def __init__(self, spec: SweepSpec) -> None:
        super().__init__(spec)
        axes: list[tuple[str, list[Any]]] = []
        if spec.variants:
            axes.append((VARIANT_KEY, list(spec.variants)))
        axes.extend((key, finite_values(entry)) for key, entry in spec.space.items())
        keys = [key for key, _ in axes]
        self.points: list[Params] = [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
        ]
        self.position = 0

    def ask(self) -> Proposal | None:
        if self.position >= len(self.points):
            return None
        self.position += 1
        return Proposal(dict(self.points[self.position - 1]))

    def total(self) -> int:
        return len(self.points)


class GridStrategy(_Enumeration):
    """The Cartesian product in spec order (the empty space is one config: the base)."""


class BruteStrategy(_Enumeration):
    """The same finite set in a seeded random order, so a budget cut leaves an unbiased sample."""

    def __init__(self, spec: SweepSpec) -> None:
        super().__init__(spec)
        random.Random(spec.strategy.seed).shuffle(self.points)


class OptunaStrategy(Strategy):
    """random / tpe / nsga2 through Optuna's ask/tell interface, in memory."""

    def __init__(self, spec: SweepSpec) -> None:
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        super().__init__(spec)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.distributions: dict[str, Any] = {}
        if spec.variants:
            self.distributions[VARIANT_KEY] = CategoricalDistribution(list(spec.variants))
        for key, entry in spec.space.items():
            if isinstance(entry, RangeSpec):
                if entry.is_int:
                    self.distributions[key] = IntDistribution(
                        int(entry.low), int(entry.high), log=entry.log, step=int(entry.step or 1)
                    )
                else:
                    self.distributions[key] = FloatDistribution(
                        float(entry.low),
                        float(entry.high),
                        log=entry.log,
                        step=float(entry.step) if entry.step is not None else None,
                    )
            else:
                self.distributions[key] = CategoricalDistribution(finite_values(entry))
        self.study = optuna.create_study(
            directions=[o.direction for o in spec.objective], sampler=self._sampler()
        )

    def _sampler(self) -> Any:
        options = self.spec.strategy
        samplers = self.optuna.samplers
        if options.name == "random":
            return samplers.RandomSampler(seed=options.seed)
        if options.name == "tpe":
            startup = {"n_startup_trials": options.n_startup_trials} if options.n_startup_trials else {}
            return samplers.TPESampler(seed=options.seed, **startup)
        population = {"population_size": options.population_size} if options.population_size else {}
        return samplers.NSGAIISampler(seed=options.seed, **population)

    def ask(self) -> Proposal | None:
        trial = self.study.ask(self.distributions)
        return Proposal({k: _canonical(v) for k, v in trial.params.items()}, handle=trial)

    def tell(
        self, proposal: Proposal, values: Sequence[float] | None, constraint: float | None = None
    ) -> None:
        state = self.optuna.trial.TrialState
        if values is None:
            self.study.tell(proposal.handle, state=state.FAIL)
            return
        if constraint is not None:
            # TPE and NSGA-II prefer feasible trials (every constraint <= 0): those reaching the target.
            proposal.handle.set_constraint(CONSTRAINT, constraint)
        self.study.tell(proposal.handle, list(values))

    def restore(self, history: Sequence[tuple[Params, Sequence[float] | None, float | None]]) -> None:
        create = self.optuna.trial.create_trial
        state = self.optuna.trial.TrialState
        for params, values, constraint in history:
            params = {k: v for k, v in params.items() if k in self.distributions}
            if values is None:
                trial = create(state=state.FAIL, params=params, distributions=self.distributions)
            else:
                constraints = {CONSTRAINT: constraint} if constraint is not None else None
                trial = create(
                    params=params,
                    distributions=self.distributions,
                    values=list(values),
                    constraints=constraints,
                )
            self.study.add_trial(trial)

    def total(self) -> int | None:
        return self.spec.strategy.trials


_REGISTRY: dict[str, Callable[[SweepSpec], Strategy]] = {
    "grid": GridStrategy,
    "brute": BruteStrategy,
    "random": OptunaStrategy,
    "tpe": OptunaStrategy,
    "nsga2": OptunaStrategy,
}


def register_strategy(name: str, factory: Callable[[SweepSpec], Strategy]) -> None:
    _REGISTRY[name] = factory


def get_strategy(spec: SweepSpec) -> Strategy:
    return _REGISTRY[spec.strategy.name](spec)


def is_finite(name: str) -> bool:
    """Whether the registered strategy `name` enumerates a fixed set of configs."""
    return bool(getattr(_REGISTRY[name], "finite", False))


def list_strategies() -> list[str]:
    return sorted(_REGISTRY)
