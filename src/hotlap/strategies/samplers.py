"""Optuna's samplers as strategies, driven through ask/tell in memory and rebuilt from the stored
results when a sweep resumes. Each is one `register_sampler` line: its name, Optuna's class, its
options and how many objectives it takes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from hotlap.spec.fields import VARIANT_KEY, RangeSpec
from hotlap.strategies.base import History, Proposal, Strategy, finite_values, register_strategy

if TYPE_CHECKING:
    from hotlap.spec.schema import SweepSpec

__all__ = ["OptunaStrategy", "register_sampler", "space_distributions"]

CONSTRAINT = "target"  # a config's distance from the target: <= 0 when it reaches it


def _canonical(value: Any) -> Any:
    return float(f"{value:.12g}") if isinstance(value, float) else value


def space_distributions(spec: SweepSpec) -> dict[str, Any]:
    """The spec's swept keys as Optuna distributions (a range: int or float, log and step kept; a
    list or choices: categorical; the variants: the key `variant`)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    distributions: dict[str, Any] = {}
    if spec.variants:
        distributions[VARIANT_KEY] = CategoricalDistribution(list(spec.variants))
    for key, entry in spec.space.items():
        if isinstance(entry, RangeSpec) and entry.is_int:
            distributions[key] = IntDistribution(
                int(entry.low), int(entry.high), log=entry.log, step=int(entry.step or 1)
            )
        elif isinstance(entry, RangeSpec):
            step = float(entry.step) if entry.step is not None else None
            distributions[key] = FloatDistribution(
                float(entry.low), float(entry.high), log=entry.log, step=step
            )
        else:
            distributions[key] = CategoricalDistribution(finite_values(entry))
    return distributions


RESUME_SEED_STEP = 1_000_003  # a resumed session's seed: strategy.seed + this x earlier trials


class OptunaStrategy(Strategy):
    """An Optuna sampler (`sampler`, a name in `optuna.samplers`) through ask/tell, in memory; the
    spec's `strategy.seed` and the sampler's own options (its `options` model) go to its constructor."""

    sampler: ClassVar[str] = "RandomSampler"

    def __init__(self, spec: SweepSpec) -> None:
        import optuna

        super().__init__(spec)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.distributions = space_distributions(spec)
        self.study = optuna.create_study(
            directions=[o.direction for o in spec.objective], sampler=self._sampler()
        )
        self._asked = False  # the first ask of a resumed session reseeds the sampler

    def _sampler(self, session: int = 0) -> Any:
        """The sampler, seeded by `strategy.seed`; a session that continues `session` earlier
        trials gets a seed of its own (the same for the same history), else a resumed random
        search would propose the first session's configs again, each a known one."""
        import warnings

        options = self.option_values().model_dump(exclude_none=True)
        seed = self.spec.strategy.seed + RESUME_SEED_STEP * session
        with warnings.catch_warnings():  # QMC and GP say they are experimental at every sweep
            warnings.simplefilter("ignore", self.optuna.exceptions.ExperimentalWarning)
            return getattr(self.optuna.samplers, self.sampler)(seed=seed % 2**32, **options)

    def ask(self) -> Proposal | None:
        if not self._asked:
            self._asked = True
            if self.study.trials:  # a resumed sweep: its earlier trials restored
                self.study.sampler = self._sampler(session=len(self.study.trials))
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

    def restore(self, history: History) -> None:
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


def register_sampler(
    name: str,
    sampler: str,
    *,
    options: type[BaseModel] | None = None,
    objectives: tuple[int, int | None] = (1, None),
    learns: bool = False,
) -> type[OptunaStrategy]:
    """Register Optuna's `optuna.samplers.<sampler>` as strategy `name` (`learns`: a model-based
    sampler, whose proposals follow what it is told)."""
    facts: dict[str, Any] = {"sampler": sampler, "objectives": objectives, "learns": learns}
    facts["__doc__"] = f"Optuna's {sampler}."
    if options is not None:
        facts["options"] = options
    cls = type(f"{sampler}Strategy", (OptunaStrategy,), facts)
    return register_strategy(name, cls)


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TPEOptions(_Options):
    n_startup_trials: int | None = Field(None, ge=1, description="random trials before modelling")


class NSGA2Options(_Options):
    population_size: int | None = Field(None, ge=2, description="population size")


class GPOptions(_Options):
    n_startup_trials: int | None = Field(None, ge=1, description="random trials before modelling")


register_sampler("random", "RandomSampler")
register_sampler("tpe", "TPESampler", options=TPEOptions, learns=True)
register_sampler("nsga2", "NSGAIISampler", options=NSGA2Options, objectives=(2, None), learns=True)
register_sampler("qmc", "QMCSampler")
register_sampler("gp", "GPSampler", options=GPOptions, learns=True)
