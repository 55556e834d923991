"""Mid-run checkpoints (spec `checkpoint_every`): a long run's training state saved every N epochs
into the sweep's `checkpoints/` folder, so that a run killed at epoch 150 of 200 starts again at
its last checkpoint, not at epoch 0. The run stays the unit of exactly-once: the store still has
one row for it, queued again after the kill; the checkpoint is a resumable state inside it,
removed by the engine once the run has ended.

A recipe takes part by accepting `checkpoint=` in its `train` (hotlap.recipes.resnet does): it
calls `load()` before its first epoch and `save(state)` where `due(epoch)`. The state is plain
tensors, numbers, strings, lists and dicts, written atomically and read back with
`weights_only=True`; one that cannot be read is set aside and the run starts from epoch 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.io import atomic_write

__all__ = ["Checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    every: int  # epochs between saves

    def due(self, epoch: int, epochs: int) -> bool:
        """Whether to save after `epoch` (0-based) of `epochs`: every `every`, never after the last
        (the run then ends, and its checkpoint with it)."""
        return (epoch + 1) % self.every == 0 and epoch + 1 < epochs

    def save(self, state: dict[str, Any]) -> None:
        import torch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, lambda handle: torch.save(state, handle))

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None: none saved, or one that cannot be read (moved aside to
        `<name>.unreadable`, so that it is never read again)."""
        import torch

        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # damaged, or written by something else: start over
            self.path.replace(self.path.with_suffix(".unreadable"))
            return None
        return state if isinstance(state, dict) else None
