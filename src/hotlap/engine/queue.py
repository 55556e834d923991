"""The runs waiting for the executor, taken in random order.

A machine's speed drifts over a sweep (it warms up, throttles, shares the GPU with another job).
Run config by config, that drift lands on whole configs and biases every time comparison: the
config run while the machine was slow looks slow. Taken from a random config each time (of all the
configs with runs queued: a round's), the drift spreads over all configs alike and only widens
their spread; a config's own seeds still run in order. Runs released by a shared training (their network is ready) go first: they are
evaluations, not timed trainings, and their siblings wait on them.

Verification compares configs seed by seed on fresh seeds (the recommendation against the
baseline): its queue is *paired*, the lowest seed of every config first, so both runs of a seed
are taken back to back (which of them first is random), and the comparison of their times is
paired in the machine's state as well as in the seed.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Iterable

from hotlap.store import RunRecord

__all__ = ["RunQueue"]


class RunQueue:
    """Queued runs: `take` returns the runs put `first` in order, then a random config's run of
    the lowest seed (the configs in random order, each config's seeds in order; `paired`: of the
    configs whose next seed is the lowest of all)."""

    def __init__(self, seed: str | int = 0, *, paired: bool = False) -> None:
        self._random = random.Random(seed)  # a string seed is hashed the same in every process
        self._paired = paired  # the lowest seed of all configs first (verification)
        self._first: collections.deque[RunRecord] = collections.deque()
        self._configs: list[str] = []  # configs with runs in `_runs`
        self._runs: dict[str, list[RunRecord]] = {}  # config -> its runs, highest seed first
        self._ids: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._ids

    def add(self, runs: Iterable[RunRecord]) -> None:
        for run in runs:
            if run.id in self._ids:
                continue
            self._ids.add(run.id)
            if run.config_id not in self._runs:
                self._configs.append(run.config_id)
                self._runs[run.config_id] = []
            waiting = self._runs[run.config_id]
            waiting.append(run)
            if len(waiting) > 1 and waiting[-2].seed < run.seed:
                waiting.sort(key=lambda r: -r.seed)

    def add_first(self, runs: Iterable[RunRecord]) -> None:
        """Runs to take before any other, in this order."""
        fresh = [run for run in runs if run.id not in self._ids]
        self._ids.update(run.id for run in fresh)
        self._first.extendleft(reversed(fresh))

    def take(self) -> RunRecord:
        """The next run (IndexError when empty)."""
        if self._first:
            run = self._first.popleft()
        else:
            if self._paired:  # a random config of those whose next run has the lowest seed
                lowest = min(self._runs[c][-1].seed for c in self._configs)
                firsts = [i for i, c in enumerate(self._configs) if self._runs[c][-1].seed == lowest]
                index = firsts[self._random.randrange(len(firsts))]
            else:
                index = self._random.randrange(len(self._configs))
            config_id = self._configs[index]
            waiting = self._runs[config_id]
            run = waiting.pop()
            if not waiting:
                del self._runs[config_id]
                self._configs[index] = self._configs[-1]
                self._configs.pop()
        self._ids.discard(run.id)
        return run

    def drop(self, config_id: str) -> list[RunRecord]:
        """Take every queued run of `config_id` out (its config was closed: pruned); returns them."""
        dropped = [run for run in self._first if run.config_id == config_id]
        if dropped:
            self._first = collections.deque(run for run in self._first if run.config_id != config_id)
        if config_id in self._runs:
            dropped += self._runs.pop(config_id)
            index = self._configs.index(config_id)
            self._configs[index] = self._configs[-1]
            self._configs.pop()
        self._ids.difference_update(run.id for run in dropped)
        return dropped
