"""Decision rules are an extension point: a rule registered outside hotlap, named by `criterion:`,
decides racing, the recommendation, the report and the verification."""

from __future__ import annotations

import math

import pytest

import hotlap
from hotlap.report import render_format
from hotlap.rules import DecisionRule, get_rule, list_rules, register_rule
from hotlap.spec import SpecError, parse_spec


@register_rule("every_run")
class EveryRun(DecisionRule):
    """Every run reaches the threshold (after at least 3 runs): a rule a plugin might ship."""

    def bounds(self, values, target, alpha, futility):
        worst = min(values) if target.maximize else max(values)
        return (worst if len(values) >= 3 else -math.inf), worst

    def threshold(self, target):
        return target.threshold

    def describe(self, target):
        return f"every {target.metric} {target.relation()} {target.shown_threshold()} (3 runs or more)"


SPEC = {
    "name": "every",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "base": {"x": 0.3},
    "variants": {"fast": {"y": 0, "late_drop": 0.1}, "slow": {"y": 1}, "bad": {"x": 0.9}},
    "seeds": {"min": 3, "max": 15, "step": 3},  # verification seeds from 15: the fast variant drops
    "objective": {
        "target": {"metric": "tta_accuracy", "at_least": 0.85, "criterion": "every_run"},
        "minimize": "train_time",
    },
    "executor": {"name": "inprocess", "warmup": False},
}


def test_a_plugin_rule_decides_racing_verification_and_the_report(tmp_path):
    assert "every_run" in list_rules() and isinstance(get_rule("every_run"), EveryRun)
    spec = parse_spec({**SPEC, "verify": {"seeds": 3, "candidates": 2}})
    result = hotlap.run_sweep(spec, workdir=tmp_path)
    analysis = result.analysis
    ids = {c.params["variant"]: c.config_id for c in analysis.configs}
    with hotlap.open(tmp_path) as store:
        races = store.race_decisions(result.sweep.id)
    # racing: the rule passes a config once 3 runs all reach 85%, and fails one whose runs miss
    assert races[(ids["fast"], "full")] == "pass" and races[(ids["slow"], "full")] == "pass"
    assert races[(ids["bad"], "full")] == "fail"
    with hotlap.open(tmp_path) as store:
        bad_runs = store.runs(result.sweep.id, config_id=ids["bad"], stage="search")
    assert len(bad_runs) == 3  # decided at the first look
    # verification: the fast variant loses 0.1 on fresh seeds, so a run misses: the slow one is used
    assert analysis.candidates[:2] == (ids["fast"], ids["slow"])
    assert analysis.verified == ids["slow"] and analysis.recommendation.config == ids["slow"]
    # the report says what the rule decided, in its own words
    report = hotlap.load_report(result.sweep.id, workdir=tmp_path)
    html = render_format(report, "html")
    assert "target every tta_accuracy &gt;= 85.00% (3 runs or more)" in html
    decisions = dict(zip(report.table["config_id"], report.table["decision"], strict=True))
    assert decisions[ids["bad"]] == "fail"


def test_an_unknown_rule_is_one_line_naming_the_closest():
    with pytest.raises(
        SpecError, match=r"objective.target.criterion: unknown decision rule 'every_rum' \(closest: every_run"
    ):
        parse_spec(
            {
                **SPEC,
                "objective": {
                    "target": {"metric": "tta_accuracy", "at_least": 0.85, "criterion": "every_rum"}
                },
            }
        )


def test_a_relative_target_needs_a_rule_that_judges_differences():
    raw = {**SPEC, "seeds": 4, "baseline": {}}
    raw["objective"] = {"target": {"metric": "tta_accuracy", "within": 0.01, "criterion": "every_run"}}
    with pytest.raises(SpecError, match="criterion every_run judges a target of its own"):
        parse_spec(raw)


def test_the_built_in_rules_are_registered_like_a_plugins():
    assert {"mean", "success_rate"} <= set(list_rules())
    with pytest.raises(ValueError, match="registered twice"):
        register_rule("mean", get_rule("mean"))
