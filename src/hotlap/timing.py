"""Timed regions with the reference convention: CUDA events + synchronize on GPU, perf_counter on CPU.

A run accumulates named regions (`train`, `eval`). Work outside a region (moving data, building
the model, the per-epoch logging evaluation) is not counted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["RegionTimer"]


class RegionTimer:
    """Accumulates seconds per named region on one device."""

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def region(self, name: str) -> Iterator[None]:
        if self.device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            torch.cuda.synchronize(self.device)
            self.seconds[name] += start.elapsed_time(end) / 1000.0
        else:
            begin = time.perf_counter()
            yield
            self.seconds[name] += time.perf_counter() - begin

    def __getitem__(self, name: str) -> float:
        return self.seconds.get(name, 0.0)
