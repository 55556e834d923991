"""A stage's working state: its seed scheduler, its queue of runs, the proposals waiting to be told;
and the exception that stops a sweep early (budget, failures)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotlap.engine.queue import RunQueue
from hotlap.engine.scheduler import SeedScheduler
from hotlap.strategies.base import Proposal, Strategy

__all__ = ["Silent", "Stage", "Stop"]


@dataclass
class Stage:
    """One stage's work: its seed scheduler, the runs queued for the executor, and the proposals
    waiting for a config's race to close (to be told to the strategy)."""

    name: str  # search, promote or verify
    fidelity: str
    seeds: SeedScheduler
    depth_first: bool  # extend racing configs before asking for new ones (sequential samplers)
    run_stage: str = "search"  # the runs' `stage` column
    queue: RunQueue = field(default_factory=RunQueue)  # taken in random order
    pending: dict[str, list[Proposal | None]] = field(default_factory=dict)


class Silent(Strategy):
    """Stages without a strategy (promotion, verification) tell nobody."""

    def ask(self) -> Proposal | None:
        return None


class Stop(Exception):
    """Ends the sweep early with a state (stopped, failed) and the message the user sees."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message
