"""A run that never learned: its training loss sat at the loss of a constant prediction in every
epoch (it diverged to constant logits); its chance accuracy is a failure, not a result to average."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from hotlap.errors import RunFailed

__all__ = ["CHANCE_TOLERANCE", "check_learned"]

CHANCE_TOLERANCE = 1e-3  # relative: lr=1e6 on digits stays at 2.302585 = ln 10 to 7 digits


def check_learned(history: Sequence[dict[str, Any]], num_classes: int) -> None:
    """Raise RunFailed where the training loss sat at ln(classes) in every epoch: the loss of a
    constant prediction, so the network never learned (it diverged to constant logits, as
    airbench94 does at lr=1e6), and its chance accuracy is not a result to average. Recipes that
    log no `train_loss` are not judged."""
    losses = [record.get("train_loss") for record in history]
    if not losses or num_classes < 2 or not all(isinstance(v, int | float) for v in losses):
        return
    chance = math.log(num_classes)
    if all(abs(loss - chance) <= CHANCE_TOLERANCE * chance for loss in losses):  # type: ignore[operator]
        raise RunFailed(
            f"diverged: the training loss stayed at ln({num_classes}) = {chance:.4f} (a constant "
            f"prediction) in all {len(losses)} epochs; is the learning rate too high?"
        )
