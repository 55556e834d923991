"""objective.target.within: a config must stay within a margin of the baseline, judged on the
differences from the baseline seed by seed (a quantized network within half a point of full
precision, with stated confidence)."""

from __future__ import annotations

import pytest
import toy_recipe  # noqa: F401  (registers the toy recipe)

from hotlap.analysis.configs import analyze
from hotlap.analysis.results import strategy_feedback, summarize_configs
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import SpecError, parse_spec
from hotlap.store import Store

# toy: every config shares the seed's noise (+-0.006), so a config's difference from the baseline
# is the same on every seed: -0.01 per unit of y. On digits (360 test images) an accuracy moves in
# steps of 1/360: that floor of spread keeps the constant differences from being a certainty.
RAW = {
    "name": "within",
    "recipe": "toy",
    "dataset": "digits",
    "device": "cpu",
    "seeds": 6,
    "base": {"x": 0.3},
    "space": {"y": [1, 3]},
    "baseline": {"y": 0},
}


def run(tmp_path, within):
    raw = {
        **RAW,
        "objective": {
            "target": {"metric": "tta_accuracy", "within": within},
            "minimize": "train_time",
        },
    }
    spec = parse_spec(raw)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        configs, runs = store.configs(record.id), store.runs(record.id)
    return spec, configs, runs, analyze(spec, configs, runs)


def test_configs_are_judged_on_their_differences_from_the_baseline(tmp_path):
    spec, configs, runs, analysis = run(tmp_path, 0.02)
    by_y = {r.params.get("y", 0): r for r in analysis.configs}
    # the raw accuracies spread with the seeds' noise; the differences do not
    assert by_y[1].metrics["tta_accuracy"].std > 0.003
    assert by_y[1].verdict.decision == "pass"  # 0.01 below the baseline, within 0.02
    assert -0.012 < by_y[1].verdict.low < -0.01  # the bound is on the paired difference (its floor)
    assert by_y[3].verdict.decision == "fail"  # 0.03 below
    assert -0.03 < by_y[3].verdict.high < -0.028
    # the baseline is its own reference: its differences are exactly 0, a certainty (no spread
    # is no certainty anywhere else)
    assert by_y[0].verdict.decision == "pass" and by_y[0].verdict.low == 0.0
    assert "the baseline's - 2.00 points (paired by seed)" in analysis.recommendation.sentence
    # its bound in the target's own terms, not as an accuracy of "-1.00%"
    assert "lower bound the baseline's + 0.00 points)" in analysis.recommendation.sentence
    # Optuna hears of the gap from the baseline's mean, not of the raw accuracy
    summaries = summarize_configs(configs, runs)
    baseline = next(s for s in summaries.values() if s.config_id == by_y[0].config_id)
    for y, expected in ((1, -0.01), (3, 0.01)):
        summary = next(s for s in summaries.values() if s.config_id == by_y[y].config_id)
        _, constraint = strategy_feedback(summary, spec, baseline)
        assert constraint == pytest.approx(expected)

    _, _, _, tighter = run(tmp_path / "tight", 0.005)
    assert {r.params.get("y", 0): r.verdict.decision for r in tighter.configs} == {
        0: "pass",
        1: "fail",
        3: "fail",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseline": None}, "relative to the baseline; give baseline"),
        ({"seeds": {"min": 2, "max": 6, "step": 2}}, "not racing"),
        ({"verify": {"seeds": 4}}, "verify on fresh seeds is not supported"),
        ({"target": {"metric": "tta_accuracy", "within": 0.02, "at_least": 0.9}}, "give at_least"),
        ({"target": {"metric": "tta_accuracy", "within": 2}}, "a fraction; give a value in (0, 1)"),
        ({"target": {"metric": "tta_accuracy", "within": -0.1}}, "greater than 0"),
    ],
)
def test_bad_relative_targets_are_one_line(change, message):
    target = change.pop("target", {"metric": "tta_accuracy", "within": 0.02})
    raw = {**RAW, **change, "objective": {"target": target, "minimize": "train_time"}}
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    assert message in str(caught.value) and "\n" not in str(caught.value)
