"""The overhead benchmarks at a tiny size, so that they run at HEAD (their figures, in
benchmarks/RESULTS.md, come from the same scripts at full size). What is checked is that each
measures what it says, not how fast anything is."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_engine_overhead_times_every_run_with_and_without_a_budget():
    for budget in ([], ["--budget"]):
        out = bench("engine_overhead.py", "--runs", "40", "--repeat", "1", *budget)
        assert "40 runs in" in out and "last/first" in out
        assert ("with a budget" in out) == bool(budget)


def test_peers_overhead_times_whole_processes_of_each_tool():
    out = bench("peers_overhead.py", "--sizes", "3,6", "--tools", "optuna-journal,hotlap-budget")
    rows = {line.split("  ")[0]: line for line in out.splitlines() if "ms" in line}
    assert set(rows) == {"Optuna, journal file", "hotlap, the same with budget: {max_runs}"}, out
    assert all(line.count(" ms") == 3 for line in rows.values())  # two sizes and the steady state


def test_peers_overhead_runs_each_pair_of_tools_in_both_orders():
    """A process pays for the disk work the one before it left (its removed folders): no tool may
    always follow the same one."""
    spec = importlib.util.spec_from_file_location("peers_overhead", BENCHMARKS / "peers_overhead.py")
    assert spec is not None and spec.loader is not None
    peers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peers)
    tools = ["optuna-journal", "hotlap", "hotlap-budget"]
    rounds = [peers.in_turn(tools, turn) for turn in range(2)]
    assert all(sorted(order) == sorted(tools) for order in rounds)  # every tool, once a round
    follows = {(order[i - 1], order[i]) for order in rounds for i in range(1, len(order))}
    assert all((b, a) in follows for a, b in follows)


def test_analysis_scale_builds_a_store_with_the_engine_and_times_the_commands():
    out = bench(
        "analysis_scale.py",
        *("--configs", "3", "--seeds", "2", "--repeat", "1"),
        *("--commands", "status,export (csv)", "--floors"),
    )
    assert "store: 3 configs x up to 2 seeds, 6 runs" in out, out
    assert "hotlap status" in out and "hotlap export (csv)" in out and out.count("beyond start-up") == 2
    floors = [line for line in out.splitlines() if line.strip().startswith("floor:")]
    assert len(floors) == 4 and all(line.endswith(" s beyond") for line in floors), out
