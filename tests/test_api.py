"""The library is the API: `hotlap.load_spec`, `run_sweep`, `resume_sweep`, `sweep_status`,
`load_report` and `plan_sweep` do what the CLI commands do, and the CLI prints what they return."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import hotlap

SPEC = """
name: api
recipe: toy
dataset: synthetic:8
seeds: 3
space: {x: [0.1, 0.3, 0.5]}
baseline: {x: 0.7}
objective: {minimize: train_time, target: {metric: tta_accuracy, at_least: 0.5}}
executor: {name: inprocess, warmup: false}
"""


def test_run_sweep_then_load_report_gives_the_table_and_the_recommendation(tmp_path):
    path = tmp_path / "api.yaml"
    path.write_text(SPEC)
    spec = hotlap.load_spec(path, ["seeds=4"])
    assert len(spec.seeds) == 4
    plan = hotlap.plan_sweep(spec, workdir=tmp_path / "runs")
    assert plan.runs_max == 4 * 4 and plan.stored_id is None  # three configs and the baseline

    result = hotlap.run_sweep(spec, workdir=tmp_path / "runs")
    assert result.state == "done"
    report = hotlap.load_report(result.sweep.id, workdir=tmp_path / "runs")
    assert isinstance(report.table, pd.DataFrame)
    assert len(report.table) == 4 and report.table["is_baseline"].sum() == 1
    assert sorted(report.table["x"]) == [0.1, 0.3, 0.5, 0.7]
    assert set(report.table["n"]) == {4}
    assert report.recommended is not None and report.recommended in set(report.table["config_id"])
    assert report.recommendation.startswith("Use ")

    status = hotlap.sweep_status("api", workdir=tmp_path / "runs")
    assert status.counts["done"] == 16 and status.configs == 4 and status.state == "done"
    again = hotlap.plan_sweep(spec, workdir=tmp_path / "runs")
    assert again.stored_id == result.sweep.id and again.existing["done"] == 16


def test_resume_sweep_goes_on_with_a_raised_budget_and_runs_nothing_twice(tmp_path):
    path = tmp_path / "api.yaml"
    path.write_text(SPEC)
    runs = tmp_path / "runs"
    first = hotlap.run_sweep(hotlap.load_spec(path, ["budget.max_runs=5"]), workdir=runs)
    assert first.state == "stopped"
    resumed = hotlap.resume_sweep("api", workdir=runs, overrides=["budget.max_runs=100"])
    assert resumed.state == "done"
    with hotlap.open(runs) as store:
        pairs = [(r.config_id, r.seed) for r in store.runs(first.sweep.id)]
    assert len(pairs) == len(set(pairs)) == 12


def test_callbacks_given_to_run_sweep_hear_every_run(tmp_path):
    from hotlap.callbacks import Callback

    class Counter(Callback):
        def __init__(self):
            self.ended = 0

        def run_end(self, *args, **info):
            self.ended += 1

    path = tmp_path / "api.yaml"
    path.write_text(SPEC)
    counter = Counter()
    hotlap.run_sweep(hotlap.load_spec(path), workdir=tmp_path / "runs", callbacks=[counter])
    assert counter.ended == 12


def test_a_callback_written_with_the_old_positional_hooks_still_hears_every_run(tmp_path):
    from hotlap.callbacks import Callback

    class Old(Callback):
        def __init__(self):
            self.seen = []

        def run_start(self, run, params, config):
            self.seen.append(("start", run.seed, params.get("x")))

        def run_end(self, run, outcome, best):
            self.seen.append(("end", run.seed, outcome.status))

    path = tmp_path / "api.yaml"
    path.write_text(SPEC)
    old = Old()
    hotlap.run_sweep(hotlap.load_spec(path), workdir=tmp_path / "runs", callbacks=[old])
    assert sum(1 for e in old.seen if e[0] == "start") == 12
    assert all(e[2] == "done" for e in old.seen if e[0] == "end")


def test_python_api_is_lazy():
    code = "import sys, hotlap; hotlap.load_spec; hotlap.Registry; print(sorted(m for m in ('torch', 'optuna', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
