"""Per-epoch pruning (spec `pruning`): Optuna's pruners on the epoch records runs stream. A pruned
run is recorded `pruned` (not failed), its config closed (its other seeds never run) and never
judged or recommended; status, report and exports say so; a resumed sweep keeps it closed."""

from __future__ import annotations

import json

import pytest
import yaml

from hotlap.spec import SpecError, parse_spec
from hotlap.spec.fields import PruningSpec
from hotlap.store import Store

from .conftest import run_toy

XS = [-0.5, -0.3, -0.1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9]  # the toy's accuracy peaks at x = 0.3
SPEC = {
    "name": "pruned",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "seeds": 3,
    "base": {"curve": 9},  # nine epochs, val_acc rising to the run's accuracy
    "space": {"x": XS},
    "pruning": {"rule": "asha", "min_epochs": 1, "reduction_factor": 3},
}


@pytest.fixture(autouse=True)
def _fixed_order(monkeypatch):
    """The run queue's order follows the sweep's id (its start time); an asynchronous pruner's
    decisions follow the order (scouts that come best-last are never cut): fixed here."""
    from hotlap.engine import driver
    from hotlap.engine.queue import RunQueue

    class Fixed(RunQueue):
        def __init__(self, seed, *, paired=False):  # type: ignore[no-untyped-def]
            super().__init__("pruning-tests/" + str(seed).rsplit("/", 2)[-1], paired=paired)

    monkeypatch.setattr(driver, "RunQueue", Fixed)


def _runs(store: Store) -> tuple[str, list]:
    (sweep,) = store.sweeps()
    return sweep.id, store.runs(sweep.id)


def test_pruned_runs_close_their_configs_which_are_never_judged_or_recommended(tmp_path):
    with Store(tmp_path) as store:
        result = run_toy(store, SPEC)
        sweep_id, runs = _runs(store)
        counts = store.counts(sweep_id)
        epochs = {
            r.config_id: [e["epoch"] for e in (r.details or {}).get("history", [])]
            for r in runs
            if r.status == "pruned"
        }
    pruned = {r.config_id for r in runs if r.status == "pruned"}
    assert pruned and counts["queued"] == counts["running"] == counts["failed"] == 0
    assert counts["pruned"] == len(pruned)  # one pruned run closes its config: no second one
    for config_id in pruned:  # its first run was pruned: none of its other seeds ran
        assert [r.status for r in runs if r.config_id == config_id] == ["pruned"]
        assert epochs[config_id] and epochs[config_id][-1] < 9  # stopped before its last epoch
    kept = {r.config_id for r in runs} - pruned
    assert all(sum(r.config_id == c and r.status == "done" for r in runs) == 3 for c in kept)  # whole
    assert len(runs) < len(XS) * 3  # runs saved
    best = result.analysis.recommendation.config
    assert best is not None and best not in pruned
    assert dict(result.analysis.best.params)["x"] == 0.3  # the best config was never pruned
    reports = {r.config_id: r for r in result.analysis.configs}
    assert all(reports[c].pruned and reports[c].verdict is None for c in pruned)
    assert "pruned at epoch" in reports[next(iter(pruned))].pruned


def test_status_report_and_export_say_what_was_pruned(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    code, out, _ = cli("plan", str(spec))
    assert code == 0 and "pruning (asha on the epochs' val_acc) runs fewer" in " ".join(out.split())
    code, out, err = cli("sweep", str(spec))
    assert code == 0, err
    assert "pruned at epoch" in out  # the live lines
    code, out, _ = cli("status", "pruned")
    assert code == 0 and " pruned" in out and "runs done, 0 failed, " in " ".join(out.split())
    code, out, _ = cli("report", "pruned", "--print")
    flat = " ".join(out.split())
    assert code == 0 and "config(s) pruned (asha on the epochs' val_acc)" in flat
    code, out, _ = cli("export", "pruned", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and any(r["status"] == "pruned" and "pruned at epoch" in r["error"] for r in rows)
    (report,) = (tmp_path / "sweeps").glob("pruned-*/report/report.csv")
    lines = report.read_text().splitlines()
    assert any(",pruned," in line and "pruned at epoch" in line for line in lines[1:])


def test_a_resumed_sweep_keeps_pruned_configs_closed_and_runs_each_seed_once(tmp_path):
    with Store(tmp_path) as store:
        first = run_toy(store, {**SPEC, "budget": {"max_runs": 8}})  # stopped part-way
        assert first.state == "stopped"
        _, before = _runs(store)
        closed = {r.config_id for r in before if r.status == "pruned"}
        assert closed
        run_toy(store, SPEC)  # the same sweep, resumed without the budget
        sweep_id, after = _runs(store)
        assert store.counts(sweep_id)["queued"] == 0
    keys = [(r.config_id, r.seed) for r in after]
    assert len(keys) == len(set(keys))
    ended_before = {r.id for r in before if r.status != "queued"}
    assert not [r for r in after if r.config_id in closed and r.id not in ended_before]  # none ran again


def test_a_remote_executor_is_refused_and_the_direction_follows_the_metric():
    with pytest.raises(SpecError, match="pruning: runs are stopped at an epoch in the driver"):
        parse_spec({**SPEC, "executor": {"name": "ray"}})
    assert PruningSpec(metric="val_loss").judged_direction(None) == "minimize"
    assert PruningSpec(metric="val_acc").judged_direction(None) == "maximize"
    assert PruningSpec(metric="val_acc").judged_direction("minimize") == "minimize"  # as declared
    assert PruningSpec(metric="x", direction="minimize").judged_direction("maximize") == "minimize"
    with pytest.raises(SpecError, match="reduction_factor"):
        parse_spec({**SPEC, "pruning": {"reduction_factor": 1}})


def test_without_pruning_every_seed_of_every_config_runs(tmp_path):
    """The same study without `pruning`: the control (nothing is pruned, no run is lost)."""
    with Store(tmp_path) as store:
        run_toy(store, {key: value for key, value in SPEC.items() if key != "pruning"})
        _, runs = _runs(store)
    assert len(runs) == len(XS) * 3 and {r.status for r in runs} == {"done"}


PROGRAM = """
import json, sys, time
from pathlib import Path
lr, seed, marks = float(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
quality = 0.9 - abs(lr - 0.3)
for epoch in range(1, 7):
    print(json.dumps({"epoch": epoch, "val_acc": quality * epoch / 6}), flush=True)
    time.sleep(0.05)
(marks / f"finished-{lr}-{seed}").write_text("ran to its end")
print(json.dumps({"val_acc": quality, "train_time": 0.3}))
"""


def test_a_pruned_script_run_stops_its_program(tmp_path):
    """A program's epoch lines feed the pruner like a recipe's records: a pruned run's program
    is stopped before its last epoch (it never leaves its mark) and the run is recorded pruned."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    marks = tmp_path / "marks"
    marks.mkdir()
    spec = {
        "name": "own",
        "recipe": "script",
        "seeds": 2,
        "space": {"lr": [0.3, 0.1, 0.9, 1.5]},
        "script": {
            "command": ["{python}", str(tmp_path / "prog.py"), "{lr}", "{seed}", str(marks)],
            "metrics": {"val_acc": {"direction": "max", "kind": "fraction"}, "train_time": "min"},
            "cwd": str(tmp_path),
        },
        "pruning": {"rule": "median", "startup_runs": 1, "min_epochs": 2},
    }
    with Store(tmp_path / "home") as store:
        run_toy(store, spec)
        _, runs = _runs(store)
    pruned = [r for r in runs if r.status == "pruned"]
    assert pruned and all("pruned at epoch" in (r.error or "") for r in pruned)
    finished = list(marks.iterdir())
    assert len(finished) == sum(r.status == "done" for r in runs)  # no pruned program ran to its end


def test_a_pruning_metric_no_epoch_record_has_is_said_once(tmp_path):
    """`pruning.metric` misspelt: nothing can be pruned, and the log says so once, naming the keys
    the records have."""
    with Store(tmp_path) as store:
        run_toy(store, {**SPEC, "pruning": {"rule": "asha", "metric": "val_accc"}})
        (sweep,) = store.sweeps()
        runs = store.runs(sweep.id)
        log = (sweep.directory / "log.txt").read_text()
    assert {r.status for r in runs} == {"done"}
    assert log.count("pruning.metric 'val_accc' is in none of the epoch records") == 1
    assert "(they have: epoch, val_acc)" in log


def test_a_sweep_logs_the_last_epoch_only_unless_pruning_reads_every_one(tmp_path):
    """The airbench recipes' untimed per-epoch test evaluation: a sweep judges the final one and
    leaves the others out (`log_every` 0), unless the pruner reads them or the spec asks."""
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor

    with Store(tmp_path) as store:
        for name, extra, expected in (
            ("plain", {"pruning": None}, 0),
            ("pruned", {}, 1),
            ("asked", {"pruning": None, "log_every": 2}, 2),
        ):
            raw = {k: v for k, v in {**SPEC, "name": name, **extra}.items() if v is not None}
            record, _ = open_sweep(store, parse_spec(raw))
            assert Engine(store, record, InProcessExecutor(warmup=False))._log_every() == expected, name
