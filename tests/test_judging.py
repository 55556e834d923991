"""One judging function: racing and the report decide alike, for a maximized and a minimized
objective; the live best kept up to date without rescanning every config."""

from __future__ import annotations

from hotlap.analysis.configs import analyze
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

# --- one judging function ----------------------------------------------------------------------


def test_racing_and_the_report_judge_a_minimized_objective_alike(tmp_path):
    """Regression: with racing and `minimize: train_time` (no target), the engine closed a race as
    "best" that the report called "below the best" (the two guessed the direction differently)."""
    spec = parse_spec(
        {
            "name": "fastest",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"y": [0, 3, 9]},
            "seeds": {"min": 4, "max": 4, "step": 1},
            "objective": {"minimize": "train_time"},
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        closed = {
            row[0]: row[1]
            for row in store.db.execute(
                "SELECT config_id, reason FROM races WHERE sweep_id = ?", (record.id,)
            )
        }
        analysis = analyze(spec, store.configs(record.id), store.runs(record.id))
    by_y = {r.params["y"]: r for r in analysis.configs}
    assert closed[by_y[0].config_id] == "best" == by_y[0].verdict.reason
    for report in analysis.configs:
        assert closed[report.config_id] == report.verdict.reason
    assert by_y[9].verdict.reason == "below the best"
    assert analysis.recommendation.config == by_y[0].config_id  # the lowest train_time


# --- cost that stays flat ----------------------------------------------------------------------


def test_the_best_config_is_not_rescanned_after_every_run(tmp_path, monkeypatch):
    import hotlap.engine.recording as engine

    scans = []
    real = engine.best_config

    def counting(summaries, primary, constraints=()):
        summaries = list(summaries)
        scans.append(len(summaries))
        return real(summaries, primary, constraints)

    monkeypatch.setattr(engine, "best_config", counting)
    spec = parse_spec(
        {
            "name": "many",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"x": {"low": -1.0, "high": 1.0, "step": 0.05}},
            "seeds": 1,
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    assert len(scans) == 41  # one call per finished run...
    assert sum(1 for n in scans if n > 2) <= 1  # ...that compares two configs, not all of them
