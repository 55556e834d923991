"""Optimizers any recipe may use."""

from __future__ import annotations

from hotlap.optim.muon import Muon, orthogonalize

__all__ = ["Muon", "orthogonalize"]
