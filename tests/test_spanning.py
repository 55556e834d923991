"""One sweep over several recipes: the recipe is a swept key (in space, or set by a variant), each
config is keyed by its own recipe and trains with it, and the report names the recipe per config."""

from __future__ import annotations

import json

import pytest
import toy_recipe  # noqa: F401  (registers toy and toy2)

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import SpecError, parse_spec
from hotlap.store import Store

SPEC = {
    "name": "family",
    "dataset": "synthetic:8",
    "device": "cpu",
    "space": {"recipe": ["toy", "toy2"], "x": [0.1, 0.3]},
    "seeds": 2,
}


def run(tmp_path, raw):
    spec = parse_spec(raw)
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        result = Engine(store, record, InProcessExecutor(warmup=False)).run()
        return spec, result, store.configs(record.id), store.runs(record.id), store.sweep(record.id)


def test_a_grid_over_the_recipe_trains_each_config_with_its_own_recipe(tmp_path):
    spec, result, configs, runs, sweep = run(tmp_path, SPEC)
    assert spec.recipe == "toy" and spec.recipe_names == ["toy", "toy2"]
    assert result.state == "done" and len(configs) == 4 and len(runs) == 8
    assert sweep.recipe == "toy+toy2"
    by_id = {c.config_id: c for c in configs}
    # the same values under two recipes are two configs (each keyed by its recipe)
    assert len({c.config_id for c in configs if c.params["x"] == 0.3}) == 2
    for run_ in runs:
        params = by_id[run_.config_id].params
        folder = sweep.directory / run_.config_id / f"seed-{run_.seed}"
        assert json.loads((folder / "config.json").read_text())["recipe"] == params["recipe"]
    times = {}
    for run_ in runs:
        times.setdefault(by_id[run_.config_id].params["recipe"], []).append(run_.values["train_time"])
    assert sum(times["toy2"]) == pytest.approx(sum(times["toy"]) / 2)  # toy2 runs as itself
    assert "recipe" not in by_id[runs[0].config_id].config  # a key of the sweep, not of a config


def test_a_variant_can_switch_the_recipe(tmp_path):
    raw = {
        **SPEC,
        "recipe": "toy",
        "space": {"x": [0.3]},
        "variants": {"plain": {}, "fast": {"recipe": "toy2", "y": 0}},
    }
    spec, result, configs, runs, _ = run(tmp_path, raw)
    assert spec.recipe_names == ["toy", "toy2"] and result.state == "done"
    by_variant = {c.params["variant"]: c for c in configs}
    assert by_variant["fast"].config["y"] == 0 and by_variant["plain"].config["y"] == 1
    fast = [r for r in runs if r.config_id == by_variant["fast"].config_id]
    plain = [r for r in runs if r.config_id == by_variant["plain"].config_id]
    assert all(f.values["accuracy"] < p.values["accuracy"] + 0.02 for f, p in zip(fast, plain, strict=True))


def test_the_report_names_each_configs_recipe(tmp_path, cli, monkeypatch):
    run(tmp_path, SPEC)
    code, out, err = cli("report", "family", "--workdir", str(tmp_path))
    assert code == 0, err
    assert "toy+toy2 on synthetic:8" in out
    rows = [line for line in out.splitlines() if "toy2" in line and "toy+toy2" not in line]
    assert len(rows) == 2  # one row per toy2 config, in the recipe column


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"space": {"recipe": ["toy", "nosuch"]}}, "unknown recipe 'nosuch'"),
        (
            {"space": {"recipe": ["toy", "airbench94"]}, "base": {"fail_text": "!"}},
            "base: unknown config key 'fail_text' for recipe airbench94",
        ),
        ({"space": {"recipe": ["toy", "script"]}}, "recipe script runs its own program"),
        ({"base": {"recipe": "toy2"}}, "base.recipe: name the recipe at the top level"),
        ({"space": {"recipe": "toy"}}, "space.recipe"),
        ({"reweight": [0.3, 0.5]}, "reweight: a sweep over several recipes"),
    ],
)
def test_a_bad_spanning_spec_is_one_line(change, message):
    with pytest.raises(SpecError) as caught:
        parse_spec({**SPEC, **change})
    assert message in str(caught.value) and "\n" not in str(caught.value)
