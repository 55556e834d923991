"""A sweep's files per run: `<sweep>/<config>/seed-<k>[-low]/` with config.json, metrics.json and
the recipe's artifacts, each folder complete or absent; and `<sweep>/best/`, the best run of the
recommended config."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hotlap.executors.base import Outcome
from hotlap.faults import fault_point
from hotlap.io import atomic_directory, to_json
from hotlap.store import ConfigRecord, RunRecord

__all__ = ["copy_best", "run_directory", "write_run"]


def run_directory(directory: Path, config_id: str, seed: int, fidelity: str) -> Path:
    suffix = "" if fidelity == "full" else f"-{fidelity}"
    return directory / config_id / f"seed-{seed}{suffix}"


def write_run(
    directory: Path,
    run: RunRecord,
    config: ConfigRecord,
    described: dict[str, Any],
    outcome: Outcome,
) -> None:
    """The run's folder, complete or absent (a rerun after a kill replaces its leftovers)."""
    with atomic_directory(run_directory(directory, run.config_id, run.seed, run.fidelity)) as tmp:
        (tmp / "config.json").write_text(to_json(described, indent=2) + "\n")
        fault_point("run-folder")  # the torture test kills here: the hidden folder is then removed
        (tmp / "metrics.json").write_text(to_json(outcome.fields(), indent=2) + "\n")
        for name, data in outcome.artifacts.items():
            (tmp / name).write_bytes(data)


def copy_best(
    directory: Path, runs: list[RunRecord], metric: str, sign: float, summary: dict[str, Any]
) -> None:
    """The best run (by `metric`, in the direction of `sign`) of the recommended config ->
    <sweep>/best/: its config, metrics, artifacts, and summary.json."""
    present = [
        r
        for r in runs
        if r.status == "done" and run_directory(directory, r.config_id, r.seed, r.fidelity).exists()
    ]
    if not present:
        return
    top = max(present, key=lambda r: sign * (r.value(metric) or 0.0))
    with atomic_directory(directory / "best") as tmp:
        shutil.copytree(
            run_directory(directory, top.config_id, top.seed, top.fidelity), tmp, dirs_exist_ok=True
        )
        (tmp / "summary.json").write_text(to_json({**summary, "seed": top.seed}, indent=2) + "\n")
