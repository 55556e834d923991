"""A strategy of your own: one factor at a time, the ablation design.

From the first value of every swept key, each key in turn takes its other values while the rest
stay at their first: 1 + sum(values - 1) configs instead of the grid's product. A spec names it
like any other: `strategy: one_at_a_time`.
"""

from __future__ import annotations

from hotlap.spec.fields import VARIANT_KEY
from hotlap.strategies import Proposal, Strategy, register_strategy
from hotlap.strategies.base import finite_values


@register_strategy("one_at_a_time")
class OneAtATime(Strategy):
    finite = True  # a fixed set, each config once: the engine runs it breadth-first, with no trials

    def __init__(self, spec):
        super().__init__(spec)
        axes = {key: finite_values(entry) for key, entry in spec.space.items()}
        if spec.variants:
            axes = {VARIANT_KEY: list(spec.variants), **axes}
        center = {key: values[0] for key, values in axes.items()}
        self.points = [center]
        for key, values in axes.items():
            self.points += [{**center, key: value} for value in values[1:]]
        self.asked = 0

    def ask(self):  # the next config, None when all were proposed
        if self.asked == len(self.points):
            return None
        self.asked += 1
        return Proposal(dict(self.points[self.asked - 1]))

    def total(self):
        return len(self.points)
