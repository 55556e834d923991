"""What a sweep will do, before it runs (`hotlap plan SPEC`, `hotlap sweep SPEC --dry-run`): its
configs, seeds and stages, the runs it makes (at most, and at least with racing), what the store
already holds of it, and a time estimate from earlier runs of its recipe on this device. Pure:
the caller reads the store; nothing here writes.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from hotlap.analysis.judging import guarantee, make_target, planned_configs
from hotlap.engine.estimate import Estimate, PastRun, PlannedConfig, estimate
from hotlap.spec.schema import SweepSpec

__all__ = ["Plan", "Stage", "make_plan", "planned_runs"]


@dataclass(frozen=True)
class Stage:
    name: str  # search, promote, verify
    configs: int | None  # None: as many as the budget allows
    seeds_min: int
    seeds_max: int
    note: str = ""

    @property
    def runs_max(self) -> int | None:
        return None if self.configs is None else self.configs * self.seeds_max

    @property
    def runs_min(self) -> int | None:
        return None if self.configs is None else self.configs * self.seeds_min


@dataclass(frozen=True)
class Plan:
    spec: SweepSpec
    stages: list[Stage]
    runs_max: int | None  # what the sweep makes at most (the budget's cap included)
    runs_min: int | None  # with racing: if every race closes at its first look
    existing: dict[str, int] | None = None  # the stored sweep's run counts, where it exists
    changed: list[str] = field(default_factory=list)  # identity fields that differ from the stored
    seconds_per_run: float | None = None  # median wall time of earlier runs on this device
    history: int = 0  # how many earlier runs that median is over
    device: str = ""  # the device the estimate is for
    stored_id: str | None = None  # the stored sweep of the spec's name, where there is one
    notes: list[str] = field(default_factory=list)  # what the decision rule says of the plan
    # From comparable earlier runs (hotlap.engine.estimate): what the per-run figure rests on, and
    # the quartile range of a run's seconds (None: the recipe's median run stands for every run).
    estimate: Estimate | None = None
    seconds_range: tuple[float, float] | None = None

    def seconds(self, runs: int | None, per_run: float | None = None) -> float | None:
        """Seconds of the runs still to make of `runs`, at `per_run` seconds a run (default: the
        estimate's median)."""
        per_run = self.seconds_per_run if per_run is None else per_run
        if runs is None or per_run is None:
            return None
        done = self.existing.get("done", 0) + self.existing.get("failed", 0) if self.existing else 0
        return max(0, runs - done) * per_run


def _stages(spec: SweepSpec) -> list[Stage]:
    seeds = len(spec.seeds)
    low = spec.racing.min if spec.racing is not None else seeds
    configs = planned_configs(spec)  # None: as many as the budget allows
    fidelity = spec.fidelity
    search = Stage(
        "search" if fidelity is None else f"search at low fidelity ({fidelity.key}={fidelity.low})",
        configs,
        low,
        seeds,
    )
    stages = [search]
    if fidelity is not None:
        searched = None if configs is None else configs - int(spec.baseline is not None)
        promoted = fidelity.promote if searched is None else min(fidelity.promote, searched)
        stages.append(
            Stage("promote to full fidelity", promoted + int(spec.baseline is not None), low, seeds)
        )
    if spec.verify is not None and spec.derived_from is None:
        verified = spec.verify.candidates + int(spec.baseline is not None)
        note = "the recommendation (and the next passing candidates if it fails) and the baseline"
        stages.append(Stage("verify on fresh seeds", verified, spec.verify.seeds, spec.verify.seeds, note))
    return stages


def planned_runs(spec: SweepSpec) -> int | None:
    """The most runs the sweep makes: every stage at its max seeds, capped by budget.max_runs
    (None where neither bounds it). The progress display counts against it."""
    stages = _stages(spec)
    if any(s.runs_max is None for s in stages[:1]):
        return spec.budget.max_runs
    # Verification runs only the first candidate unless it fails: plan for one (and the baseline).
    total = sum(s.runs_max or 0 for s in stages if not s.name.startswith("verify"))
    total += sum(
        (1 + int(spec.baseline is not None)) * s.seeds_max for s in stages if s.name.startswith("verify")
    )
    return total if spec.budget.max_runs is None else min(total, spec.budget.max_runs)


def make_plan(
    spec: SweepSpec,
    *,
    existing: dict[str, int] | None = None,
    changed: Sequence[str] = (),
    wall_times: Sequence[float] = (),
    planned: Sequence[PlannedConfig] = (),
    history: Sequence[PastRun] = (),
) -> Plan:
    """The plan of `spec`; `existing`: the stored sweep's run counts; the time estimate from
    `history` (earlier runs of this recipe and dataset on this device) for the `planned` configs
    (hotlap.engine.estimate), else the median of `wall_times`."""
    stages = _stages(spec)
    runs_max = planned_runs(spec)
    runs_min = None
    if all(s.runs_min is not None for s in stages):
        verify = [s for s in stages if s.name.startswith("verify")]
        runs_min = sum(s.runs_min or 0 for s in stages if s not in verify)
        runs_min += sum((1 + int(spec.baseline is not None)) * s.seeds_min for s in verify)
        if spec.budget.max_runs is not None:
            runs_min = min(runs_min, spec.budget.max_runs)
    per_run = statistics.median(wall_times) if wall_times else None
    found = estimate(planned, history)
    spread = None
    if found is not None:  # a run's seconds, as the planned configs mix trainings and evaluations
        per_run, low, high = (value / len(planned) for value in found.per_seed)
        spread = (low, high)
    return Plan(
        spec,
        stages,
        runs_max,
        runs_min,
        existing,
        list(changed),
        per_run,
        found.history if found is not None else len(wall_times),
        notes=_rule_notes(spec),
        estimate=found,
        seconds_range=spread,
    )


def _rule_notes(spec: SweepSpec) -> list[str]:
    """The decision rule's notes on the sweep's levels and looks (the fewest seeds it can pass
    on, its power)."""
    if spec.target is None:
        return []
    target = make_target(spec)
    assert target is not None
    level = guarantee(spec).look_alpha
    schedule = spec.look_schedule() if spec.racing is not None else (len(spec.seeds),)
    return target.rule.plan_notes(target, level, schedule)
