"""Checks for executors."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["check_executor"]


@contextmanager
def _kit_plugin() -> Iterator[None]:
    """Workers in other processes (Ray's) import the kit's recipe as one of the driver's plugins."""
    before = os.environ.get("HOTLAP_PLUGINS")
    names = [n for n in (before or "").split(",") if n]
    os.environ["HOTLAP_PLUGINS"] = ",".join([*names, "hotlap.testing.toy"])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HOTLAP_PLUGINS", None)
        else:
            os.environ["HOTLAP_PLUGINS"] = before


def check_executor(name: str, **options: object) -> None:
    """Executor `name` (with `options`): runs a task with the recipe's declared metrics, its
    weights and its epochs streamed to the engine; returns a failing run as a failed outcome with
    its error and traceback; shutting down twice is harmless."""
    from hotlap.executors import Task, get_executor
    from hotlap.recipes import get_recipe
    from hotlap.testing.toy import NAME

    with _kit_plugin():
        executor = get_executor(name, **options)
        assert executor.capacity >= 1, f"{name}: capacity {executor.capacity}"
        executor.prepare("synthetic:8", None, "cpu")
        epochs: list[int] = []
        declared = {m.name for m in get_recipe(NAME).metrics}
        try:
            good = Task(run_id=1, recipe=NAME, config={"x": 0.3}, dataset="synthetic:8", seed=3, device="cpu")
            outcome = executor.submit(good, lambda run_id, record: epochs.append(run_id)).result(timeout=120)
            assert outcome.status == "done" and outcome.run_id == 1, f"{name}: {outcome.error}"
            assert set(outcome.metrics) == declared and all(
                math.isfinite(v) for v in outcome.metrics.values()
            )
            executor.poll()  # what remote workers sent reaches the sinks in the engine's thread
            assert epochs == [1], f"{name}: epochs streamed {epochs}"
            assert outcome.device and outcome.wall_time is not None
            assert isinstance(outcome.artifacts.get("model.pt"), bytes), (
                f"{name}: the weights did not come back"
            )
            bad = Task(
                run_id=2,
                recipe=NAME,
                config={"fail_seed": 4},
                dataset="synthetic:8",
                seed=4,
                device="cpu",
                keep_weights=False,
            )
            failed = executor.submit(bad).result(timeout=120)
            assert failed.status == "failed" and "fails on purpose" in (failed.error or ""), failed.error
            assert failed.traceback and not failed.artifacts
        finally:
            executor.shutdown()
        executor.shutdown()  # twice is harmless
