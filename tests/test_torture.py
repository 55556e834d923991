"""Kill torture at exact points: a driver SIGKILLed inside a run folder's write, after a run's
files but before the store marks it done, and between "done" and the runs.jsonl append, then the
same command again. The store, runs.jsonl and the run folders must agree, with no leftovers."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from hotlap.engine.repair import CLEAN_MARK, repair_files
from hotlap.engine.session import open_sweep
from hotlap.spec import parse_spec
from hotlap.store import Store

from .conftest import hotlap_script

SPEC = {
    "name": "torture",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "space": {"x": [0.1, 0.2, 0.3], "y": [0, 2]},
    "seeds": 3,
    "keep_weights": True,
}
TOTAL = 18


def _agree(workdir: Path, ended_whole: bool = True) -> None:
    """The store is the truth: one runs.jsonl line per finished run with its status and metrics,
    a complete folder per done run, and nothing hidden anywhere in the sweep's folder."""
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        runs = store.runs(sweep.id)
    assert len(runs) == TOTAL and {r.status for r in runs} == {"done"}
    lines = [json.loads(line) for line in (sweep.directory / "runs.jsonl").read_text().splitlines()]
    by_key = {(line["config_id"], line["seed"], line["fidelity"]): line for line in lines}
    assert len(lines) == len(by_key) == TOTAL
    keys = [list(line) for line in lines]
    assert all(k == keys[0] for k in keys)  # a repaired line has the fields of a written one
    for run in runs:
        line = by_key[(run.config_id, run.seed, run.fidelity)]
        assert line["status"] == run.status and line["tta_accuracy"] == run.values["tta_accuracy"]
        assert line["ended"] == run.ended and line["session"] == run.session
        folder = sweep.directory / run.config_id / f"seed-{run.seed}"
        assert (folder / "config.json").is_file() and (folder / "metrics.json").is_file()
        assert json.loads((folder / "metrics.json").read_text())["metrics"] == run.values
    # the driver's lock stays, and the mark of a session that ended whole (the next start reads nothing)
    hidden = [p for p in sweep.directory.rglob(".*") if p.name not in (".lock", CLEAN_MARK)]
    assert not hidden, hidden
    assert (sweep.directory / CLEAN_MARK).is_file() == ended_whole


@pytest.mark.parametrize("point", ["run-folder", "before-finish", "after-finish"])
def test_a_kill_at_each_point_then_the_same_command_leaves_everything_in_agreement(
    tmp_path, plugin_env, point
):
    spec = tmp_path / "torture.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    workdir = tmp_path / "work"
    command = [hotlap_script(), "sweep", str(spec), "--workdir", str(workdir), "--no-warmup"]
    killed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**plugin_env, "HOTLAP_FAULT": f"{point}:5"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        counts = store.counts(sweep.id)
    lines = (sweep.directory / "runs.jsonl").read_text().count("\n")
    if point == "after-finish":  # the fifth run is done in the store, its line not written
        assert counts["done"] == 5 and lines == 4
    else:  # the fifth run is still `running`: it runs again
        assert counts["done"] == 4 and counts["running"] == 1 and lines == 4
    if point == "run-folder":
        assert list(sweep.directory.glob("*/.seed-*"))  # the killed write's hidden folder
    final = subprocess.run(command, capture_output=True, text=True, timeout=300, env=plugin_env)
    assert final.returncode == 0, final.stderr
    if point in ("run-folder", "after-finish"):
        assert "repaired:" in (sweep.directory / "log.txt").read_text()
    _agree(workdir)


def test_a_torn_last_line_is_replaced_by_the_stored_run(tmp_path):
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(SPEC))
        from hotlap.engine.driver import Engine
        from hotlap.executors import InProcessExecutor

        Engine(store, record, InProcessExecutor(warmup=False)).run()
        runs_file = record.directory / "runs.jsonl"
        whole = runs_file.read_text()
        runs_file.write_text(whole[: whole.rstrip("\n").rfind("\n") + 1] + whole.splitlines()[-1][:40])
        leftover = record.directory / next(iter({r.config_id for r in store.runs(record.id)}))
        (leftover / ".seed-1.abcd1234").mkdir()
        (record.directory / ".env.json.x1y2z3w4.tmp").write_text("{")
        repaired = repair_files(store, record.id, record.directory)
        assert len(repaired) == 3, repaired
        assert sorted(runs_file.read_text().splitlines()) == sorted(whole.splitlines())
        assert repair_files(store, record.id, record.directory) == []  # nothing left to repair
    _agree(tmp_path, ended_whole=False)


def test_a_session_that_ended_whole_is_not_read_again_and_the_next_one_is_checked(tmp_path, monkeypatch):
    """A session that ended whole leaves a mark: the next start reads neither runs.jsonl nor the
    run folders (a resume of 50,000 finished runs starts at once). The start removes the mark, so
    that a kill of that next session is repaired in full at the one after."""
    import hotlap.engine.repair as repair
    from hotlap.engine.driver import Engine
    from hotlap.executors import InProcessExecutor

    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(SPEC))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        assert (record.directory / CLEAN_MARK).is_file()
        with monkeypatch.context() as patched:  # the whole check would read both
            patched.setattr(repair, "_complete_runs_file", lambda *a: pytest.fail("runs.jsonl read"))
            patched.setattr(repair, "_remove_leftovers", lambda *a: pytest.fail("folders listed"))
            assert repair_files(store, record.id, record.directory) == []
        assert not (record.directory / CLEAN_MARK).exists()  # this session is checked next time
        runs_file = record.directory / "runs.jsonl"  # ... as if it was killed before a line
        whole = runs_file.read_text()
        runs_file.write_text(whole[: whole.rstrip("\n").rfind("\n") + 1])
        assert repair_files(store, record.id, record.directory) == [
            "added 1 finished run(s) missing from runs.jsonl (from the store)"
        ]
        assert runs_file.read_text() == whole


def test_a_killed_hotlap_run_resumed_writes_its_summary(tmp_path, plugin_env):
    """`hotlap run` killed mid-way, then `hotlap resume ID` (what its message says): the run
    folder gets its summary.json, over every seed (only the run command wrote it before)."""
    workdir, out = tmp_path / "work", tmp_path / "out"
    command = [hotlap_script(), "run", "toy", "--data", "synthetic:8", "--device", "cpu", "--seeds", "4"]
    command += ["--target", "0.85", "--out", str(out), "--no-warmup"]
    env = {**plugin_env, "HOTLAP_HOME": str(workdir)}
    killed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**env, "HOTLAP_FAULT": "before-finish:3"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "summary.json").exists()
    sweep = json.loads((out / "config.json").read_text())["sweep"]
    resumed = subprocess.run(
        [hotlap_script(), "resume", sweep], capture_output=True, text=True, timeout=300, env=env
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == summary["seeds_planned"] == 4 and summary["sweep"] == sweep
    assert summary["target"]["threshold"] == 0.85 and not summary["interrupted"]
