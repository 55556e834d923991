"""A training that never leaves chance is a failed run, not a result."""

from __future__ import annotations

import pytest

from hotlap.errors import RunFailed
from hotlap.executors.inprocess import Worker
from hotlap.recipes import get_recipe
from hotlap.recipes.divergence import check_learned


def test_a_loss_that_never_leaves_chance_is_a_diverged_run():
    chance = [{"train_loss": 2.3025853}, {"train_loss": 2.3025851}]
    with pytest.raises(RunFailed, match=r"diverged.*ln\(10\)"):
        check_learned(chance, 10)
    check_learned([{"train_loss": 2.3025853}, {"train_loss": 2.2814}], 10)  # it moved: learning
    check_learned([{"train_loss": 2.2814}], 10)  # a barely trained run is a result, not a failure
    check_learned([{"val_acc": 0.1}], 10)  # no train_loss: not judged


@pytest.mark.slow
def test_airbench_at_lr_1e6_is_recorded_failed_not_done_at_chance(digits_data):
    """lr=1e6 collapses airbench94 to constant logits: 10% on digits, loss ln(10) to 7 digits."""
    recipe = get_recipe("airbench94")
    config = recipe.config({**recipe.smoke, "width": 0.125, "epochs": 2, "lr": 1e6})
    with pytest.raises(RunFailed, match="diverged"):
        Worker(digits_data).run(recipe, config, 0, keep_weights=False)
