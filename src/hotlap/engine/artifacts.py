"""A sweep's files per run: `<sweep>/<config>/seed-<k>[-low]/` with config.json, metrics.json and
the recipe's artifacts, each folder complete or absent; and `<sweep>/best/`, the best run of the
recommended config."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotlap.analysis.run_summary import summarize
from hotlap.executors.base import Outcome
from hotlap.faults import fault_point
from hotlap.io import atomic_directory, atomic_write_json, to_json
from hotlap.metrics import Metric
from hotlap.store import FINISHED, RunRecord

__all__ = ["copy_best", "run_directory", "write_run", "write_run_summary"]


def run_directory(directory: Path, config_id: str, seed: int, fidelity: str) -> Path:
    suffix = "" if fidelity == "full" else f"-{fidelity}"
    return directory / config_id / f"seed-{seed}{suffix}"


def write_run(
    directory: Path,
    run: RunRecord,
    described: dict[str, Any],
    outcome: Outcome,
    fields: dict[str, Any],
) -> None:
    """The run's folder, complete or absent (a rerun after a kill replaces its leftovers):
    config.json (`described`), metrics.json (the outcome's `fields`) and its artifacts."""
    with atomic_directory(run_directory(directory, run.config_id, run.seed, run.fidelity)) as tmp:
        (tmp / "config.json").write_text(to_json(described, indent=2) + "\n")
        fault_point("run-folder")  # the torture test kills here: the hidden folder is then removed
        (tmp / "metrics.json").write_text(to_json(fields, indent=2) + "\n")
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


def write_run_summary(
    directory: Path, sweep_id: str, runs: Sequence[RunRecord], metrics: Sequence[Metric], *, interrupted: bool
) -> dict[str, Any] | None:
    """A `hotlap run`'s summary.json (its config.json names the sweep, its seeds and target), from
    its finished runs; written by the run and again by the engine when the sweep ends, so that a
    run continued with `hotlap resume` gets one too. None where the folder is no `hotlap run`'s."""
    try:
        described = json.loads((directory / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(described, dict) or described.get("sweep") != sweep_id or "target" not in described:
        return None
    finished = [r for r in runs if r.status in FINISHED]
    summary = summarize([{"status": r.status, **r.values} for r in finished], described["target"], metrics)
    summary.update(
        {
            "seeds_planned": len(described.get("seeds", ())),
            "interrupted": interrupted,
            "sweep": sweep_id,
            "directory": str(directory),
        }
    )
    atomic_write_json(directory / "summary.json", summary)
    return summary
