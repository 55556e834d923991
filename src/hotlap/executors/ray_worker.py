"""What runs on each Ray actor of the `ray` executor: an in-process executor on the actor's
device, warm across its tasks, sending each epoch's record back through a Ray queue."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from hotlap.executors.base import Outcome, Task

__all__ = ["RunWorker"]


class RunWorker:
    """One Ray actor: an in-process executor on the actor's device, warm across its tasks."""

    def __init__(self, device: str, threads: int, warmup: Any, packed: int, epochs: Any = None) -> None:
        import torch

        from hotlap import load_plugins
        from hotlap.executors.inprocess import InProcessExecutor

        load_plugins()  # the recipes and datasets the driver's plugins register
        if threads > 0:
            torch.set_num_threads(threads)
        self.device = device  # "cuda": the GPU Ray gave this actor (CUDA_VISIBLE_DEVICES)
        self.packed = packed
        self.epochs = epochs  # a ray.util.queue.Queue: each epoch's record, to the driver
        self.inner = InProcessExecutor(warmup=warmup)

    def prepare(self, dataset: str | None, data_dir: str | None) -> str:
        """Load the dataset onto the device; returns the device's name as runs record it."""
        from hotlap.envinfo import device_name, resolve_device

        self.inner.prepare(dataset, data_dir, self.device)
        return self._placed(device_name(resolve_device(self.device)))

    def _placed(self, name: str) -> str:
        return f"{name} [packed: {self.packed} runs per GPU]" if self.packed > 1 else name

    def _epoch(self, run_id: int, record: dict[str, Any]) -> None:
        if self.epochs is not None:
            with contextlib.suppress(Exception):  # best effort: the history comes with the outcome
                self.epochs.put_nowait((run_id, record))

    def run(self, task: dict[str, Any]) -> Outcome:
        outcome = self.inner.submit(Task(**{**task, "device": self.device}), self._epoch).result()
        if outcome.device is not None:  # packed times are never pooled with exclusive ones
            outcome = replace(outcome, device=self._placed(outcome.device))
        return outcome
