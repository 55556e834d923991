"""What a user sees at the terminal: ids never cut, at 80 and 100 columns."""

from __future__ import annotations

import os
import subprocess

import pytest

from hotlap.executors import InProcessExecutor
from hotlap.store import Store
from hotlap.sweep import parse_spec
from hotlap.sweep.engine import Engine
from hotlap.sweep.session import open_sweep

from .conftest import hotlap_script

LONG = "a-rather-long-sweep-name-for-the-grid-smoke-test"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Store(home) as store:
        for name in (LONG, "short"):
            spec = {
                "name": name,
                "recipe": "toy",
                "dataset": "synthetic:8",
                "device": "cpu",
                "seeds": 2,
            }
            record, _ = open_sweep(store, parse_spec(spec))
            Engine(store, record, InProcessExecutor(warmup=False)).run()
        ids = [s.id for s in store.sweeps()]
    return home, ids


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_ls_never_cuts_a_sweep_id(workdir, columns):
    home, ids = workdir
    env = {
        **{k: v for k, v in os.environ.items() if k != "HOTLAP_PLUGINS"},
        "COLUMNS": str(columns),
    }
    proc = subprocess.run([hotlap_script(), "ls", "--workdir", str(home)], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= columns for line in lines)
    for sweep_id in ids:  # whole, on one line, with its counts and state shown with it
        (line,) = [i for i, text in enumerate(lines) if sweep_id in text]
        assert "…" not in lines[line]
        assert "done" in lines[line] + (lines[line + 1] if line + 1 < len(lines) else "")
