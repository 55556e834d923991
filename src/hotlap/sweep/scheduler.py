"""The seed scheduler of one stage: how many seeds each config gets, and when its race closes.

A config *joins* a stage with its first seeds (all of them without racing; `racing.min`, or what an
earlier session already gave it, with racing). When every run it was given has finished, the
stage *judges* it with the one judging function (`hotlap.sweep.judging.verdicts`): a config whose
verdict is still active and that has seeds left waits for an *extension* (`racing.step` more
seeds, given in the order configs joined); any other config's race *closes*.

The scheduler holds no store, strategy or executor: it is bookkeeping over config ids and counts,
which the engine drives and which tests can drive alone.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hotlap.decisions import Verdict
from hotlap.sweep.judging import verdicts
from hotlap.sweep.spec import RacingSpec, SweepSpec

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
    extensions: collections.deque[str] = field(default_factory=collections.deque)

    def seeds_for(self, config_id: str) -> list[int]:
        return self.seeds[: self.allotted[config_id]]

    def joined(self, config_id: str) -> bool:
        return config_id in self.allotted

    def join(self, config_id: str, existing: set[int]) -> list[int]:
        """Add a config with its first seeds (`existing`: seeds it has runs of from earlier
        sessions); returns the seeds it is allotted."""
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
        return self.seeds_for(config_id)

    def queued(self, config_id: str, runs: int) -> None:
        """`runs` more runs of the config are on their way."""
        self.remaining[config_id] += runs

    def finished(self, config_id: str) -> bool:
        """One of the config's runs finished (or was taken by another driver); True when it has
        none left to wait for."""
        self.remaining[config_id] -= 1
        return self.remaining[config_id] == 0

    def mark_closed(self, config_id: str) -> None:
        """Its race is over (its runs all finished in an earlier session, or it was judged)."""
        self.closed.add(config_id)
        self.open.pop(config_id, None)

    def judge(
        self, spec: SweepSpec, values: Mapping[str, Mapping[str, Sequence[float]]], alpha: float,
        time_alpha: float = 0.05,
    ) -> list[tuple[str, Verdict | None]]:  # fmt: skip
        """Judge every open config with no run left to wait for, on `values` (config -> metric ->
        values, for every config of the stage with a finished run). Configs that race on are queued
        for an extension; the ones returned close, with their verdict (None without racing)."""
        ready = [c for c in self.open if self.remaining[c] == 0]
        if not ready:
            return []
        judged = verdicts(spec, values, alpha, time_alpha) if self.racing is not None else {}
        closing = []
        for config_id in ready:
            verdict = judged.get(config_id)
            if (
                verdict is not None
                and verdict.active
                and self.allotted[config_id] < len(self.seeds)
            ):
                if config_id not in self.extensions:
                    self.extensions.append(config_id)
                continue
            if config_id in self.extensions:
                self.extensions.remove(config_id)
            self.mark_closed(config_id)
            closing.append((config_id, verdict))
        return closing

    def extend(self) -> str | None:
        """Give the next config waiting for an extension `racing.step` more seeds; None if none
        waits."""
        if not self.extensions:
            return None
        assert self.racing is not None
        config_id = self.extensions.popleft()
        self.allotted[config_id] = min(len(self.seeds), self.allotted[config_id] + self.racing.step)
        return config_id
