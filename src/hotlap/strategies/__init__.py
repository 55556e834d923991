"""Search strategies: what config to try next, learning from one aggregated value per config."""

from __future__ import annotations

from hotlap.strategies.base import (
    Proposal,
    Strategy,
    get_strategy,
    is_finite,
    list_strategies,
    register_strategy,
)

__all__ = ["Proposal", "Strategy", "get_strategy", "is_finite", "list_strategies", "register_strategy"]
