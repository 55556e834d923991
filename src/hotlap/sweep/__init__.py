"""Sweeps: the spec, the search strategies, and the engine that drives them over (config, seed)."""

from __future__ import annotations

from hotlap.sweep.spec import SpecError, SweepSpec
from hotlap.sweep.strategies import Proposal, Strategy, get_strategy, list_strategies
from hotlap.sweep.validate import load_spec, parse_spec, stored_spec

__all__ = [
    "Proposal",
    "SpecError",
    "Strategy",
    "SweepSpec",
    "get_strategy",
    "list_strategies",
    "load_spec",
    "parse_spec",
    "stored_spec",
]
