"""Commands that only read the store start without torch (`ls` without scipy either): the CLI
imports each command's heavy libraries inside the command. `benchmarks/cli_startup.py` times it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

PROBE = """
import json, sys
absent = json.loads(sys.argv[2])
sys.argv = ["hotlap", *json.loads(sys.argv[1])]
from hotlap.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in absent if m in sys.modules]}),
      file=sys.stderr)
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    spec = {
        "name": "quick",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 3,
        "space": {"x": [0.1, 0.2]},
    }
    with Store(home) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    return home


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["--version"], ["torch", "scipy", "numpy", "pydantic"]),
        (["ls"], ["torch", "scipy", "optuna", "pandas", "matplotlib"]),
        (["status", "quick"], ["torch", "optuna", "pandas", "matplotlib"]),  # scipy: its decision
        (["export", "quick"], ["torch", "optuna", "pandas"]),  # the standard library writes it
        (["report", "quick", "--format", "json"], ["torch", "optuna"]),
        (["report", "quick"], ["torch", "optuna"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] != "torch" else "",
)
def test_store_only_commands_import_no_torch(workdir, args, absent):
    env = {k: v for k, v in os.environ.items() if k != "HOTLAP_PLUGINS"}  # the toy plugin imports torch
    env["HOTLAP_HOME"] = str(workdir)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(absent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result["code"] in (0, None), proc.stderr
    assert result["loaded"] == [], f"{' '.join(args)} imported {result['loaded']}"


SWEEP_WITHOUT_TORCH = """
import sys, tempfile
from pathlib import Path
sys.modules["torch"] = None  # any import of torch fails
sys.path.insert(0, sys.argv[1])
import engine_overhead  # its no-op recipe: no data, no network
import hotlap
from hotlap.recipes import get_recipe
from hotlap.recipes.base import RECIPES
assert "airbench94" in RECIPES  # named, not imported
get_recipe("script")
with tempfile.TemporaryDirectory() as workdir:
    result = hotlap.run_sweep(engine_overhead.noop_spec(6, 2), workdir=Path(workdir), warmup=False)
print(result.state, result.ran)
"""


def test_a_sweep_of_a_recipe_without_data_never_imports_torch():
    """A `script` sweep's driver (or any recipe with `uses_data=False`) on the CPU imports no
    torch: the built-in recipes' modules are imported where each is wanted, the device is
    resolved and named without it. (torch's import is most of a sweep's start-up.)"""
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    env = {k: v for k, v in os.environ.items() if k != "HOTLAP_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-c", SWEEP_WITHOUT_TORCH, str(benchmarks)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["done", "6"]
