"""The seed scheduler of one stage: how many seeds each config gets, and when its race closes.

A config *joins* a stage with its first seeds (all of them without racing; `racing.min`, or what an
earlier session already gave it, with racing). When every run it was given has finished, the
stage *judges* it with the one judging function (`hotlap.analysis.judging.verdicts`): a config whose
verdict is still active and that has seeds left waits for an *extension* (`racing.step` more
seeds, given in the order configs were judged to race on); any other config's race *closes*.

The scheduler holds no store, strategy or executor: it is bookkeeping over config ids and counts,
which the engine drives and which tests can drive alone.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotlap.analysis.judging import verdicts
from hotlap.decisions import Verdict
from hotlap.spec.fields import RacingSpec
from hotlap.spec.schema import SweepSpec

__all__ = ["SeedScheduler"]


@dataclass
class SeedScheduler:
    """Seeds allotted per config in one stage, the runs each still waits for, open and closed races.

    `recorded`: races closed in an earlier session, with the seeds they had (they stay closed).
    """

    seeds: list[int]
    racing: RacingSpec | None
    recorded: dict[str, int] = field(default_factory=dict)
    allotted: dict[str, int] = field(default_factory=dict)
    remaining: collections.Counter[str] = field(default_factory=collections.Counter)
    closed: set[str] = field(default_factory=set)
    # Configs whose race is open, in the order they joined (a dict: the order decides extensions).
    open: dict[str, None] = field(default_factory=dict)
    # Open configs judged to race on, waiting for more seeds, in the order they were judged so.
    extensions: dict[str, None] = field(default_factory=dict)
    # Each config's values at its last planned look, and the configs whose next look has come
    # (no run left to wait for since they were last given seeds).
    looked: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    due: dict[str, None] = field(default_factory=dict)
    # Rounds: configs given seeds together are judged together, once all their looks have come.
    round: int = 0
    round_of: dict[str, int] = field(default_factory=dict)
    unripe: collections.Counter[int] = field(default_factory=collections.Counter)
    ripe: dict[int, list[str]] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)  # racing's bounds and tests, once per look
    # Each judged config's decision at its last look, racing on or not (a pass racing on for its
    # time is still a pass): what the live display names as the current answer.
    decisions: dict[str, str] = field(default_factory=dict)
    # The config every other is compared with (the baseline): it joins the round of the first
    # configs proposed after it, and its race stays open while any other config's is open, so
    # that it has as many seeds as its rivals and every comparison with it is paired.
    reference: str | None = None
    deferred: bool = False

    def seeds_for(self, config_id: str) -> list[int]:
        return self.seeds[: self.allotted[config_id]]

    def joined(self, config_id: str) -> bool:
        return config_id in self.allotted

    def join(self, config_id: str, existing: set[int], *, reference: bool = False) -> list[int]:
        """Add a config with its first seeds (`existing`: seeds it has runs of from earlier
        sessions); returns the seeds it is allotted. `reference`: the config the others are
        compared with (the baseline)."""
        if self.racing is None:
            allotted = len(self.seeds)
        elif config_id in self.recorded:  # its race closed in an earlier session
            allotted = self.recorded[config_id]
            self.closed.add(config_id)
        else:
            given = sum(1 for seed in self.seeds if seed in existing)
            allotted = min(len(self.seeds), max(self.racing.min, given))
        self.allotted[config_id] = allotted
        if config_id not in self.closed:
            self.open[config_id] = None
        self._given(config_id)
        if reference:
            self.reference, self.deferred = config_id, config_id not in self.closed
        return self.seeds_for(config_id)

    def new_round(self) -> None:
        """Configs joined or extended from now on form a new round (the reference, joined before
        any of them, moves into it: it is judged with its first rivals, never alone)."""
        self.round += 1
        reference, self.deferred = self.reference, False
        if reference is not None and reference in self.open and reference not in self.due:
            old = self.round_of[reference]
            if self.unripe[old] > 0 and reference not in self.ripe.get(old, ()):
                self.unripe[old] -= 1
                self.round_of[reference] = self.round
                self.unripe[self.round] += 1

    def _given(self, config_id: str) -> None:
        self.round_of[config_id] = self.round
        self.unripe[self.round] += 1
        if self.remaining[config_id] == 0:  # due until runs are queued for it
            self.due[config_id] = None

    def queued(self, config_id: str, runs: int) -> None:
        """`runs` more runs of the config are on their way."""
        self.remaining[config_id] += runs
        if self.remaining[config_id] > 0:
            self.due.pop(config_id, None)

    def finished(self, config_id: str) -> bool:
        """One of the config's runs finished (or was taken by another driver); True when it has
        none left to wait for."""
        self.remaining[config_id] -= 1
        if self.remaining[config_id] == 0:
            self.due[config_id] = None
            return True
        return False

    def mark_closed(self, config_id: str) -> None:
        """Its race is over (its runs all finished in an earlier session, or it was judged)."""
        self.closed.add(config_id)
        self.open.pop(config_id, None)
        self.extensions.pop(config_id, None)

    def judge(
        self,
        spec: SweepSpec,
        values: Callable[[str], Mapping[str, Sequence[float]] | None],
        alpha: float,
        time_alpha: float = 0.05,
        *,
        waiting: bool = False,
    ) -> list[tuple[str, Verdict | None]]:
        """Judge the open configs whose look has come (every run they were allotted finished), a
        round at a time: the configs given seeds together are judged together, as the simulations
        behind the calibration race them; `waiting`: those waiting for an extension too (the
        others' looks since may have told them apart). `values(config_id)`: the config's finished values now (metric -> values; None: none
        yet). Configs that race on wait for an extension; the ones returned close, with their
        verdict (None without racing).

        Every config is seen as it was at its last planned look: one with runs still in flight
        (several workers) counts with its values of the look before, never with a partial round, so
        that no decision rests on a look the calibration did not plan for."""
        for config_id in self.due:
            seen = values(config_id) if self.racing is not None else None
            if seen:
                self.looked[config_id] = {metric: list(v) for metric, v in seen.items()}
            round_ = self.round_of[config_id]
            self.unripe[round_] -= 1
            self.ripe.setdefault(round_, []).append(config_id)
        self.due.clear()
        ready = []
        for round_ in [r for r in self.ripe if self.unripe[r] == 0]:
            ready += [c for c in self.ripe.pop(round_) if c in self.open]
        if waiting:
            ready += [c for c in self.extensions if c not in ready]
        if not ready:
            return []
        judged = (
            verdicts(spec, self.looked, alpha, time_alpha, only=ready, memo=self.memo)
            if self.racing is not None
            else {}
        )
        closing = []
        # The reference last: whether it races on depends on the others' races closing now.
        for config_id in sorted(ready, key=lambda c: c == self.reference):
            verdict = judged.get(config_id)
            if verdict is not None:
                self.decisions[config_id] = verdict.decision
            if (verdict is not None and (verdict.active or self._holds(config_id))) and self.allotted[
                config_id
            ] < len(self.seeds):
                self.extensions[config_id] = None
                continue
            self.mark_closed(config_id)
            closing.append((config_id, verdict))
        return closing

    def _holds(self, config_id: str) -> bool:
        """Whether the reference's race stays open: another config's is (or none has joined yet)."""
        if config_id != self.reference:
            return False
        return self.deferred or any(c != config_id for c in self.open)

    def extend(self) -> str | None:
        """Give the next config waiting for an extension `racing.step` more seeds; None if none
        waits."""
        if not self.extensions:
            return None
        assert self.racing is not None
        config_id = next(iter(self.extensions))
        del self.extensions[config_id]
        self.allotted[config_id] = min(len(self.seeds), self.allotted[config_id] + self.racing.step)
        self._given(config_id)
        return config_id
