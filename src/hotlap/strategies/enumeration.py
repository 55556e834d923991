"""`grid` and `brute`: every combination of the swept values, in spec order or a seeded random one."""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING, Any

from hotlap.spec.fields import VARIANT_KEY
from hotlap.strategies.base import Params, Proposal, Strategy, finite_values, register_strategy

if TYPE_CHECKING:
    from hotlap.spec.schema import SweepSpec

__all__ = ["BruteStrategy", "GridStrategy"]


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


@register_strategy("grid")
class GridStrategy(_Enumeration):
    """The Cartesian product in spec order (the empty space is one config: the base)."""


@register_strategy("brute")
class BruteStrategy(_Enumeration):
    """The same finite set in a seeded random order, so a budget cut leaves an unbiased sample; an
    integer range without a step is enumerated value by value."""

    int_ranges = True

    def __init__(self, spec: SweepSpec) -> None:
        super().__init__(spec)
        random.Random(spec.strategy.seed).shuffle(self.points)
