"""How long a sweep's runs take, estimated from comparable earlier runs (`hotlap plan`): each planned
config's training from earlier runs of the same training on this device (the recipe's training key:
the config less its evaluation-only fields), evaluations on a shared network from earlier
evaluations apart, and where a training never ran here, the recipe's seconds per optimizer step at
that training's steps (epochs and batch size count; width and model do not: said, a rough figure). The range comes from the comparable runs' quartiles. Pure: the caller reads
the store and enumerates the planned configs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Estimate", "PastRun", "PlannedConfig", "estimate"]


@dataclass(frozen=True)
class PastRun:
    seconds: float  # its wall time
    key: str  # the training its time depends on (the recipe's training key, else its config's hash)
    evaluated: bool  # it evaluated a network another run trained
    steps: int | None = None  # its optimizer steps (the recipe's total_steps), where known


@dataclass(frozen=True)
class PlannedConfig:
    key: str  # its training (configs of one key share a trained network per seed where they can)
    shares: bool  # the recipe evaluates apart from training: siblings of a key only evaluate
    steps: int | None = None  # its optimizer steps, where known: a training that never ran here is
    # estimated at the recipe's seconds per step (epochs and batch size accounted for)


@dataclass(frozen=True)
class Estimate:
    """Seconds of runs for each seed count of a planned config (racing's fewest, most), with the
    quartile range, and what they rest on."""

    per_seed: tuple[float, float, float]  # all planned configs, one seed each: median, q1, q3
    trainings: int  # planned configs that train (one per training key where they share)
    evaluations: int  # planned configs that only evaluate a shared network
    comparable: int  # trainings with earlier runs of the same training
    history: int  # earlier runs it rests on
    evaluations_known: bool = True  # earlier evaluations timed them (else trainings stood in)

    @property
    def rough(self) -> bool:
        """Some planned training never ran here (the recipe's other trainings stood in), or no
        evaluation did (trainings stood in for them)."""
        return self.comparable < self.trainings or not self.evaluations_known

    def seconds(self, seeds: float) -> tuple[float, float, float]:
        """Median, low and high estimate of every planned config at `seeds` seeds each."""
        return tuple(seeds * value for value in self.per_seed)  # type: ignore[return-value]


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q1, q3


def estimate(planned: Sequence[PlannedConfig], history: Sequence[PastRun]) -> Estimate | None:
    """The estimate of `planned` from `history` (None: no earlier training to go by)."""
    trainings = [r for r in history if not r.evaluated]
    if not trainings or not planned:
        return None
    by_key: dict[str, list[float]] = {}
    for run in trainings:
        by_key.setdefault(run.key, []).append(run.seconds)
    every = _quartiles([r.seconds for r in trainings])
    rates = [r.seconds / r.steps for r in trainings if r.steps]
    per_step = _quartiles(rates) if rates else None
    evaluations = [r.seconds for r in history if r.evaluated]
    evaluation = _quartiles(evaluations) if evaluations else None
    totals = [0.0, 0.0, 0.0]
    seen: set[str] = set()
    trained = evaluated = comparable = 0
    for config in planned:
        if config.shares and config.key in seen:  # evaluates its key's network (else: as a training)
            figures, evaluated = evaluation or every, evaluated + 1
        else:
            seen.add(config.key)
            trained += 1
            known = by_key.get(config.key)
            comparable += known is not None
            if known:
                figures = _quartiles(known)
            elif per_step is not None and config.steps:  # the recipe's pace, at its own length
                figures = tuple(config.steps * rate for rate in per_step)  # type: ignore[assignment]
            else:
                figures = every
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
    return Estimate(
        tuple(totals),  # type: ignore[arg-type]
        trained,
        evaluated,
        comparable,
        len(history),
        evaluations_known=bool(evaluations) or not evaluated,
    )
