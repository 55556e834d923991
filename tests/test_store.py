"""The store: stable config hashes, schema versions, guarded state moves, concurrent writers."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
import yaml

import hotlap
from hotlap.config import config_hash
from hotlap.errors import HotlapError
from hotlap.recipes import get_recipe
from hotlap.store import SCHEMA_VERSION, Store

from .conftest import hotlap_script

HASH_SCRIPT = """
import sys
from hotlap.config import config_hash
from hotlap.recipes import get_recipe
recipe = get_recipe("airbench94")
print(config_hash("airbench94", recipe.config({"lr": 12, "width": 0.5, "translate_schedule": "cyclic"})))
"""


def test_config_hash_is_stable_across_processes_and_spellings():
    recipe = get_recipe("airbench94")
    here = config_hash(
        "airbench94", recipe.config({"translate_schedule": "cyclic", "width": 0.5, "lr": 12.0})
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        there = subprocess.run(
            [sys.executable, "-c", HASH_SCRIPT], capture_output=True, text=True, env=env, check=True
        )
        assert there.stdout.strip() == here
    assert config_hash("airbench94", recipe.config({"lr": 12.5})) != here
    assert config_hash("airbench94", recipe.config()) == config_hash(
        "airbench94", recipe.config({"lr": 11.5})
    )
    assert len(here) == 64


def test_a_new_store_is_at_the_current_schema_in_wal_mode(tmp_path):
    with Store(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_store_is_made_whole_or_not_at_all(tmp_path, monkeypatch):
    """A failure while the store is made (a full disk) leaves no hotlap.db behind, not an empty one
    that a later start would take for a new store; a made store leaves no temporary file."""
    with Store(tmp_path / "made"):
        pass
    assert sorted(p.name for p in (tmp_path / "made").iterdir() if p.name.startswith(".")) == []

    def full(self):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "_migrate", full)
    with pytest.raises(HotlapError, match="disk is full"):
        Store(tmp_path / "full")
    assert list((tmp_path / "full").iterdir()) == []


def test_an_old_store_is_migrated_and_a_newer_one_refused(tmp_path):
    with closing(sqlite3.connect(tmp_path / "hotlap.db")) as db:
        db.execute("PRAGMA user_version = 0")
    with Store(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.sweeps() == []
    with closing(sqlite3.connect(tmp_path / "hotlap.db")) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HotlapError, match="newer than this hotlap"):
        Store(tmp_path)


def test_opening_a_missing_store_for_reading_is_a_user_error(tmp_path):
    with pytest.raises(HotlapError, match="no hotlap store"):
        hotlap.open(tmp_path / "nothing-here")
    assert not (tmp_path / "nothing-here").exists()


def test_run_states_move_only_from_the_state_they_leave(tmp_path):
    with Store(tmp_path) as store:
        store.create_sweep(
            sweep_id="s",
            name="s",
            recipe="toy",
            dataset="d",
            spec={},
            spec_digest="",
            directory=tmp_path,
        )
        store.add_config(
            "s",
            config_id="c",
            config_hash="c" * 64,
            origin="grid",
            is_baseline=False,
            params={},
            config={},
        )
        store.ensure_runs("s", "c", [0, 1], "full")
        store.ensure_runs("s", "c", [0, 1, 2], "full")  # existing rows are kept, seed 2 added
        runs = store.runs("s")
        assert [(r.seed, r.status) for r in runs] == [(0, "queued"), (1, "queued"), (2, "queued")]
        first = runs[0].id
        assert store.finish(first, {"status": "done"}) is False  # not running
        assert store.claim(first, worker="me") is True
        assert store.claim(first, worker="someone else") is False
        metrics = {
            "accuracy": 0.5,
            "tta_accuracy": 0.6,
            "train_time": 1.0,
            "eval_time": 0.1,
            "total_time": 1.1,
        }
        assert store.finish(first, {"status": "done", "metrics": metrics, "wall_time": 1.2}) is True
        assert store.finish(first, {"status": "failed"}) is False  # done stays done
        assert store.requeue("s") == 0  # nothing running
        done = store.runs("s", status="done")
        assert len(done) == 1 and done[0].value("tta_accuracy") == 0.6 and done[0].attempts == 1
        assert store.spent("s") == (1, 1.2)
        # The analysis' fast read: the same records, without history and traceback; an unmeasured
        # metric (None) is left out of the values.
        store.claim(runs[1].id, worker="me")
        store.finish(
            runs[1].id,
            {"status": "done", "metrics": {"accuracy": 0.4, "eval_time": None}, "history": [{"epoch": 1}]},
        )
        full, light = store.runs("s"), store.runs("s", details=False)
        assert [r.values for r in light] == [r.values for r in full] == [metrics, {"accuracy": 0.4}, {}]
        assert full[1].details is not None and light[1].details is None
        assert [dataclasses.replace(r, details=None, traceback=None) for r in full] == light


def test_two_processes_write_to_one_store_at_once(tmp_path, plugin_env):
    """Two sweeps of many tiny runs in one workdir at the same time: no 'database is locked'."""
    workdir = tmp_path / "shared"
    procs = []
    for name in ("left", "right"):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "name": name,
                    "recipe": "toy",
                    "dataset": "synthetic:8",
                    "device": "cpu",
                    "keep_weights": False,
                    "space": {"x": {"low": 0.0, "high": 1.0, "step": 0.025}, "y": [0, 1]},
                    "seeds": 3,
                }
            )
        )
        command = [hotlap_script(), "sweep", str(spec), "--workdir", str(workdir)]
        procs.append(
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=plugin_env
            )
        )
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "locked" not in out + err
    with hotlap.open(workdir) as store:
        for sweep in store.sweeps():
            assert store.counts(sweep.id) == {
                "queued": 0,
                "running": 0,
                "done": 41 * 2 * 3,
                "failed": 0,
            }


class _InterruptedAfter:
    """A connection whose statement `after` completes and then Ctrl-C lands (as a SIGINT raises
    KeyboardInterrupt right after the C call that was running returns)."""

    def __init__(self, db: sqlite3.Connection, after: str) -> None:
        self._db, self._after = db, after

    def execute(self, statement: str, *args: object) -> sqlite3.Cursor:
        cursor = self._db.execute(statement, *args)
        if statement == self._after:
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


@pytest.mark.parametrize("landing", ["BEGIN IMMEDIATE", "INSERT INTO sweeps_seen VALUES (1)"])
def test_a_ctrl_c_landing_inside_a_write_leaves_no_transaction_open(tmp_path, landing):
    """A Ctrl-C right after BEGIN left the transaction open: the engine's closing write then
    failed ("cannot start a transaction within a transaction") and the sweep ended with exit 2
    and "not a readable hotlap store" instead of stopping cleanly."""
    with Store(tmp_path) as store:
        with store.write() as db:
            db.execute("CREATE TABLE sweeps_seen (n INTEGER)")
        real = store.db
        store.db = _InterruptedAfter(real, landing)  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt), store.write() as db:
            db.execute("INSERT INTO sweeps_seen VALUES (1)")
        store.db = real
        assert not real.in_transaction
        with store.write() as db:  # the next write works, and nothing of the interrupted one stayed
            db.execute("INSERT INTO sweeps_seen VALUES (2)")
        assert [tuple(row) for row in real.execute("SELECT n FROM sweeps_seen")] == [(2,)]
