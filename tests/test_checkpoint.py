"""Mid-run checkpoints (spec `checkpoint_every`): a ResNet run stopped part-way goes on from its
last checkpoint and ends exactly where the uninterrupted run ends; a driver SIGKILLed mid-run,
then the same command, resumes the run from its checkpoint (not epoch 0), exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import replace

import pytest
import yaml

from hotlap.recipes import get_recipe
from hotlap.recipes.checkpoint import Checkpoint
from hotlap.spec import SpecError, parse_spec
from hotlap.store import Store

from .conftest import hotlap_script

RECIPE = get_recipe("resnet")
# 8x8 digits, a cosine schedule and mixup: every state a resume must carry (lr, generators) matters
TINY = {
    "image_size": 8,
    "epochs": 4,
    "batch_size": 64,
    "val_size": 200,
    "scheduler": "cosine",
    "warmup_epochs": 1,
    "mixup_alpha": 0.2,
}


class _Stop(Exception):
    pass


def test_a_run_resumed_from_its_checkpoint_ends_exactly_as_the_uninterrupted_one(small, tmp_path):
    config = RECIPE.config({**TINY, "epochs": 3, "val_size": 64})
    small = replace(small, train_images=small.train_images[:192], train_labels=small.train_labels[:192])
    whole = RECIPE.train(config, small, seed=3, keep_weights=False)
    checkpoint = Checkpoint(tmp_path / "run-1.pt", every=1)

    def stop_at_third(record):  # stopped during epoch 3: the checkpoint holds epoch 2's end
        if record["epoch"] == 3:
            raise _Stop

    with pytest.raises(_Stop):
        RECIPE.train(config, small, seed=3, on_epoch=stop_at_third, keep_weights=False, checkpoint=checkpoint)
    assert checkpoint.path.is_file()
    again = RECIPE.train(config, small, seed=3, keep_weights=False, checkpoint=checkpoint)
    assert [r["epoch"] for r in again.history] == [1, 2, 3]
    assert again.history[2]["resumed_from_epoch"] == 2 and "resumed_from_epoch" not in again.history[1]
    quality = [key for key in whole.metrics if "time" not in key]
    assert "accuracy" in quality
    for key in quality:  # bit for bit: every generator and the schedule were where they had been
        assert again.metrics[key] == whole.metrics[key], key
    for a, b in zip(again.history, whole.history, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["lr"] == b["lr"]


def test_an_unreadable_checkpoint_is_set_aside_and_the_run_starts_over(small, tmp_path):
    checkpoint = Checkpoint(tmp_path / "run-1.pt", every=1)
    checkpoint.path.write_bytes(b"not a checkpoint")
    result = RECIPE.train(RECIPE.config({**TINY, "epochs": 1}), small, seed=0, checkpoint=checkpoint)
    assert [r["epoch"] for r in result.history] == [1] and "resumed_from_epoch" not in result.history[0]
    assert (tmp_path / "run-1.unreadable").is_file() and not checkpoint.path.exists()


def test_a_driver_killed_mid_run_resumes_the_run_from_its_checkpoint(tmp_path):
    spec = tmp_path / "long.yaml"
    raw = {
        "name": "long",
        "recipe": "resnet",
        "dataset": "synthetic:192",  # random images: a checkpoint carries the same state whatever they show
        "device": "cpu",
        "seeds": 1,
        "base": {**TINY, "epochs": 3, "val_size": 64},  # 128 images to train on (2 steps), 64 to validate
        "checkpoint_every": 1,
        "keep_weights": False,
        "keep_artifacts": False,
    }
    spec.write_text(yaml.safe_dump(raw))
    workdir = tmp_path / "work"
    command = [hotlap_script(), "sweep", str(spec), "--workdir", str(workdir), "--no-warmup"]
    killed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**_env(), "HOTLAP_FAULT": "epoch:2"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (checkpoint,) = (workdir / "sweeps").glob("long-*/checkpoints/run-*.pt")  # epoch 1's end
    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=_env())
    assert final.returncode == 0, final.stderr
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        (run,) = store.runs(sweep.id)
    history = run.details["history"]
    assert run.status == "done" and [r["epoch"] for r in history] == [1, 2, 3]
    assert history[1]["resumed_from_epoch"] == 1  # epoch 2 ran again from epoch 1's checkpoint
    assert not checkpoint.exists()  # the run ended: its checkpoint went with it
    lines = (sweep.directory / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["status"] == "done"


def test_checkpoints_are_refused_for_a_recipe_that_cannot_resume_or_a_remote_executor():
    with pytest.raises(SpecError, match=r"recipe airbench94 does not resume from a checkpoint.*resnet"):
        parse_spec({"name": "a", "recipe": "airbench94", "dataset": "digits", "checkpoint_every": 1})
    with pytest.raises(SpecError, match="checkpoint_every: checkpoints are kept in the sweep's folder"):
        parse_spec(
            {"name": "a", "recipe": "resnet", "dataset": "digits", "base": {"val_size": 200}}
            | {"checkpoint_every": 1, "executor": "ray"}
        )
    with pytest.raises(SpecError, match="checkpoint_every"):
        parse_spec({"name": "a", "recipe": "resnet", "dataset": "digits", "checkpoint_every": 0})


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "HOTLAP_FAULT"}
