"""A sweep's files brought back into agreement with the store, their truth, before a driver
starts: a kill between marking a run finished and appending its `runs.jsonl` line leaves the file
a line short; a kill in the middle of an append leaves a torn last line; a kill while a run folder
is written leaves its hidden temporary folder (`.seed-3.k2j4x1ab`). The driver holds the sweep's
lock when it repairs, so no other process writes these files meanwhile.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hotlap.io import atomic_write_json, to_json
from hotlap.store import FINISHED, RunRecord, Store

__all__ = ["CLEAN_MARK", "mark_clean", "repair_files", "runs_line"]

RUNS_FILE = "runs.jsonl"
CLEAN_MARK = ".ended-whole.json"  # the last session ended whole: see repair_files
# What `atomic_directory` (run folders, best/) and `atomic_write` leave behind when killed.
_LEFTOVER = re.compile(r"^\.(seed-\d+(-[a-z]+)?|best)\.[A-Za-z0-9_]{6,}$|^\.[\w.-]+\.[A-Za-z0-9_]{6,}\.tmp$")


def runs_line(run: RunRecord, fields: dict[str, Any], session: int | None) -> dict[str, Any]:
    """The `runs.jsonl` line of a finished run: its keys, then its metrics, then the outcome's
    other fields (`Outcome.fields()` without run_id, status, metrics and warmup_time)."""
    status = fields["status"]
    rest = {k: v for k, v in fields.items() if k not in ("run_id", "status", "metrics", "warmup_time")}
    return {
        "config_id": run.config_id,
        "seed": run.seed,
        "fidelity": run.fidelity,
        "stage": run.stage,
        "status": status,
        "session": session,
        **(fields.get("metrics") or {}),
        **rest,
    }


def _fields(run: RunRecord) -> dict[str, Any]:
    """A stored run as the outcome fields it was finished with."""
    details = run.details or {}
    return {
        "status": run.status,
        "metrics": run.values,
        "history": details.get("history", []),
        "precision": details.get("precision"),
        "device": run.device,
        "host": run.host,
        "started": run.started,
        "ended": run.ended,
        "wall_time": run.wall_time,
        "error": run.error,
        "traceback": run.traceback,
        "source_run": details.get("source_run"),
    }


def _key(line: dict[str, Any]) -> tuple[Any, ...]:
    return (
        line.get("config_id"),
        line.get("seed"),
        line.get("fidelity"),
        line.get("stage", "search"),
    )


def repair_files(store: Store, sweep_id: str, directory: Path) -> list[str]:
    """Make `directory`'s runs.jsonl hold the last state of every finished run of the sweep and
    remove the temporary leftovers of killed writes. Returns what was repaired, a sentence each.

    Where the last session ended whole (its mark, `CLEAN_MARK`, names the file's size as it left
    it), there is nothing a kill could have left and nothing is read; the mark is removed, so that
    this session, if killed, is checked in full at the next start."""
    mark = directory / CLEAN_MARK
    if _ended_whole(mark, directory / RUNS_FILE):
        mark.unlink()
        return []
    repaired = []
    removed = _remove_leftovers(directory, [c.config_id for c in store.configs(sweep_id)])
    if removed:
        repaired.append(f"removed {removed} unfinished file(s) or folder(s) left by a killed session")
    added, torn = _complete_runs_file(directory / RUNS_FILE, store, sweep_id)
    if torn:
        repaired.append(f"dropped a torn last line of {RUNS_FILE} (a session was killed mid-write)")
    if added:
        repaired.append(f"added {added} finished run(s) missing from {RUNS_FILE} (from the store)")
    mark.unlink(missing_ok=True)
    return repaired


def mark_clean(directory: Path) -> None:
    """A session ended whole: every finished run has its line and no write was cut short. Written
    after its last line; the next start then needs no repair."""
    runs = directory / RUNS_FILE
    atomic_write_json(directory / CLEAN_MARK, {"runs_bytes": runs.stat().st_size if runs.exists() else 0})


def _ended_whole(mark: Path, runs: Path) -> bool:
    try:
        value = json.loads(mark.read_text())
        size = runs.stat().st_size if runs.exists() else 0
    except (OSError, ValueError):
        return False
    return isinstance(value, dict) and value.get("runs_bytes") == size


def _remove_leftovers(directory: Path, config_ids: Iterable[str]) -> int:
    removed = 0
    for folder in (directory, *(directory / c for c in config_ids)):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if not _LEFTOVER.match(entry.name) or entry.is_symlink():
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
    return removed


def _complete_runs_file(path: Path, store: Store, sweep_id: str) -> tuple[int, bool]:
    text = path.read_text() if path.exists() else ""
    torn = bool(text) and not text.endswith("\n")
    if torn:  # the last line was cut by a kill: the store still has that run
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    last: dict[tuple[Any, ...], str] = {}
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict):
            last[_key(line)] = line.get("status")
    missing = {
        run.id
        for run in store.runs(sweep_id, details=False)
        if run.status in FINISHED
        and last.get((run.config_id, run.seed, run.fidelity, run.stage)) != run.status
    }
    if missing:  # rare: read these runs whole (history, traceback) to write their lines
        missing = [run for run in store.runs(sweep_id) if run.id in missing]
        with path.open("a") as out:
            for run in sorted(missing, key=lambda r: (r.ended or "", r.id)):
                out.write(to_json(runs_line(run, _fields(run), run.session)) + "\n")
    return len(missing), torn
