"""constraints: bounds a recommended config keeps on its metrics' means (a latency, FLOPs, memory);
a config that breaks one is never recommended, never on the Pareto front, and Optuna is told."""

from __future__ import annotations

import csv
import io

import pytest
import toy_recipe  # noqa: F401  (registers the toy recipes)

from hotlap.analysis.configs import analyze
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import SpecError, parse_spec
from hotlap.store import Store

# toy: tta_accuracy peaks at x = 0.3 and falls with y; train_time grows with y
TOY = {
    "name": "bounded",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "seeds": 2,
    "space": {"x": [0.3], "y": [0, 2, 5]},
}


def run(tmp_path, raw):
    spec = parse_spec(raw)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        return spec, analyze(
            spec,
            store.configs(record.id),
            store.runs(record.id),
            excluded=store.excluded(record.id),
        )


def test_the_best_config_that_keeps_the_bound_is_recommended(tmp_path, cli):
    """y=0 is the most accurate but breaks `train_time >= 0.006`: y=2 is recommended instead."""
    raw = {
        **TOY,
        "objective": {"maximize": "tta_accuracy"},
        "constraints": [{"metric": "train_time", "at_least": 0.006}],
    }
    _, analysis = run(tmp_path, raw)
    by_y = {r.params["y"]: r.config_id for r in analysis.configs}
    assert set(analysis.broken) == {by_y[0]} and "train_time" in analysis.broken[by_y[0]]
    assert analysis.recommendation.config == by_y[2]
    code, out, err = cli("report", "bounded", "--workdir", str(tmp_path), "--format", "csv")
    assert code == 0, err
    kept = {r["config_id"]: r["constraints_kept"] for r in csv.DictReader(io.StringIO(out))}
    assert kept == {by_y[0]: "False", by_y[2]: "True", by_y[5]: "True"}
    code, out, _ = cli("report", "bounded", "--workdir", str(tmp_path))
    assert code == 0 and "Constraints: train_time >= 0.006. Broken by 1 config(s), never recommended" in out


def test_a_broken_config_is_off_the_pareto_front_and_optuna_hears_of_it(tmp_path):
    from hotlap.analysis.results import ConfigSummary, strategy_feedback

    raw = {
        **TOY,
        "objective": {"maximize": "tta_accuracy", "minimize": "train_time"},
        "constraints": [{"metric": "train_time", "at_least": 0.006}],
    }
    spec, analysis = run(tmp_path, raw)
    by_y = {r.params["y"]: r.config_id for r in analysis.configs}
    assert by_y[0] not in analysis.pareto and by_y[2] in analysis.pareto  # y=0 would dominate both
    summary = ConfigSummary("c", "full", {"y": 0}, False)
    summary.add({"tta_accuracy": 0.9, "train_time": 0.001})
    values, constraint = strategy_feedback(summary, spec)
    assert values == [0.9, 0.001] and constraint == pytest.approx(0.005)  # infeasible: > 0


def test_a_flops_constraint_on_digits_with_a_latency_objective(tmp_path):
    """The done-when sweep: maximize TTA accuracy, minimize latency at batch 1, run FLOPs bounded
    between the two widths' counts: the wider network is excluded before it runs (its FLOPs are
    known from its config)."""
    from hotlap.costs import static_costs
    from hotlap.recipes import get_recipe

    recipe = get_recipe("airbench94")
    base = {"epochs": 1, "batch_size": 256, "eval_batch_size": 64}
    flops = {
        w: static_costs(recipe, recipe.config({**base, "width": w}), 10, 1437, 360)["run_flops"]
        for w in (0.125, 0.25)
    }
    raw = {
        "name": "flops",
        "recipe": "airbench94",
        "dataset": "digits",
        "device": "cpu",
        "seeds": 2,
        "base": base,
        "space": {"width": [0.125, 0.25]},
        "objective": {"maximize": "tta_accuracy", "minimize": "latency_batch1"},
        "constraints": [{"metric": "run_flops", "at_most": (flops[0.125] + flops[0.25]) / 2}],
    }
    spec, analysis = run(tmp_path, raw)
    assert spec.costs == ["latency_batch1", "run_flops"]  # measured because they are named
    by_width = {r.params["width"]: r for r in analysis.configs}
    assert set(by_width) == {0.125}  # the wider one never ran
    assert by_width[0.125].metrics["run_flops"].mean == flops[0.125]
    assert not analysis.broken and len(analysis.excluded) == 1
    (reason,) = analysis.excluded.values()
    assert reason.startswith("run_flops ") and "at most" in reason
    assert analysis.pareto == (by_width[0.125].config_id,)
    assert analysis.recommendation.config == by_width[0.125].config_id


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        ([{"metric": "nope", "at_most": 1}], "constraints.0.metric: unknown metric 'nope'"),
        ([{"metric": "train_time", "at_most": 1, "at_least": 0}], "give at_most or at_least"),
        ([{"metric": "train_time"}], "give at_most or at_least"),
    ],
)
def test_bad_constraints_are_one_line(constraints, message):
    with pytest.raises(SpecError) as caught:
        parse_spec({**TOY, "constraints": constraints})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_weighted_score_is_one_more_metric_to_optimize(tmp_path):
    """`score:` sums weighted metrics per run (for tools that score that way): each run's score is
    the weighted sum of its own values, and the score is what the objective maximizes."""
    raw = {
        **TOY,
        "score": {"tta_accuracy": 1.0, "train_time": -2.0},
        "objective": {"maximize": "score"},
    }
    spec, analysis = run(tmp_path, raw)
    assert (
        spec.metric("score").kind == "score"
        and "1 x tta_accuracy + -2 x train_time" in spec.metric("score").description
    )
    for report in analysis.configs:
        for seed, value in report.values["score"].items():
            expected = report.values["tta_accuracy"][seed] - 2.0 * report.values["train_time"][seed]
            assert value == pytest.approx(expected, abs=1e-12)
    best = max(analysis.configs, key=lambda r: r.metrics["score"].mean)
    assert analysis.recommendation.config == best.config_id


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ({"nope": 1.0}, "score: unknown metric 'nope'"),
        ({"tta_accuracy": 0.0}, "a weight is a finite number other than 0"),
        ({"score": 1.0}, "score is the weighted sum itself"),
    ],
)
def test_bad_scores_are_one_line(score, message):
    with pytest.raises(SpecError) as caught:
        parse_spec({**TOY, "score": score, "objective": {"maximize": "score"}})
    assert message in str(caught.value) and "\n" not in str(caught.value)
