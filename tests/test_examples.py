"""Every example spec validates as written and runs at smoke size on the digits data."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotlap.executors import InProcessExecutor
from hotlap.store import Store
from hotlap.sweep import load_spec
from hotlap.sweep.engine import Engine, open_sweep

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
SMOKE = ["dataset=digits", "device=cpu", "base.width=0.125", "base.epochs=1", "base.batch_size=256",
         "budget.max_runs=3"]  # fmt: skip


def test_there_are_examples():
    names = {p.stem for p in EXAMPLES}
    assert {"grid", "tpe", "tta_weights", "variants"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_states_its_question_and_runs_at_smoke_size(path, tmp_path):
    assert path.read_text().startswith("# Question:")
    written = load_spec(path)
    assert written.dataset == "cifar10"
    # A swept key wins over base: keep the smoke size where an example sweeps the epochs.
    extra = ["space.epochs=[1.0, 1.5]"] if "epochs" in written.space else []
    extra += ["seeds={min: 2, max: 4, step: 2}"] if written.racing else ["seeds=1"]
    spec = load_spec(path, SMOKE + extra)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        result = Engine(store, record, InProcessExecutor(warmup=False)).run()
        assert result.state == "stopped" and "max_runs 3" in result.message
        counts = store.counts(record.id)
        assert counts["done"] == 3 and counts["failed"] == 0 and counts["running"] == 0
