"""Search strategies: what config to try next, learning from one aggregated value per config.

`grid` and `brute` enumerate a finite space (`enumeration`); `random`, `tpe`, `nsga2`, `qmc` and
`gp` are Optuna's samplers (`samplers`). A plugin registers its own with `register_strategy`.
"""

from __future__ import annotations

from hotlap.strategies import enumeration, samplers
from hotlap.strategies.base import (
    STRATEGIES,
    Proposal,
    Strategy,
    get_strategy,
    is_finite,
    list_strategies,
    register_strategy,
    strategy_class,
)
from hotlap.strategies.samplers import register_sampler

__all__ = [
    "STRATEGIES",
    "Proposal",
    "Strategy",
    "enumeration",
    "get_strategy",
    "is_finite",
    "list_strategies",
    "register_sampler",
    "register_strategy",
    "samplers",
    "strategy_class",
]
