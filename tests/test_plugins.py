"""Plugins from outside hotlap: an installed package's `hotlap.plugins` entry point, `$HOTLAP_PLUGINS`,
and what a plugin strategy declares about itself (finite, options)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hotlap.spec import SpecError, parse_spec

from .conftest import hotlap_script

PLUGIN = textwrap.dedent(
    '''
    """A plugin package as a user would ship it: a strategy that reads its configs from a list."""
    from hotlap.strategies import Proposal, Strategy, register_strategy


    @register_strategy("from_list")
    class FromList(Strategy):
        finite = True  # a fixed set: the engine runs it breadth-first and needs no trials

        def __init__(self, spec):
            super().__init__(spec)
            self.points = [{"x": 0.1}, {"x": 0.2}, {"x": 0.4}]

        def ask(self):
            return Proposal(self.points.pop(0)) if self.points else None

        def total(self):
            return 3
    '''
)


def _installed(tmp_path: Path) -> Path:
    """A site folder holding the package `hotlap_from_list` and its .dist-info with the entry point,
    as `pip install` leaves them."""
    site = tmp_path / "site"
    (site / "hotlap_from_list").mkdir(parents=True)
    (site / "hotlap_from_list" / "__init__.py").write_text(PLUGIN)
    info = site / "hotlap_from_list-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hotlap-from-list\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[hotlap.plugins]\nfrom_list = hotlap_from_list\n")
    return site


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hotlap_script(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=240
    )


def test_an_installed_packages_entry_point_registers_a_finite_strategy_that_runs_without_trials(
    tmp_path, plugin_env
):
    site = _installed(tmp_path)
    env = {**plugin_env, "PYTHONPATH": os.pathsep.join([str(site), plugin_env["PYTHONPATH"]])}
    env["HOTLAP_HOME"] = str(tmp_path / "runs")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: listed\nrecipe: toy\ndataset: synthetic:8\nseeds: 2\nstrategy: from_list\n"
        "space: {x: [0.1, 0.2, 0.4]}\nexecutor: {name: inprocess, warmup: false}\n"
    )
    done = _run(["sweep", str(spec)], env, tmp_path)
    assert done.returncode == 0, done.stderr
    exported = _run(["export", "listed", "--format", "json"], env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    runs = json.loads(exported.stdout)
    assert sorted((r["x"], r["seed"]) for r in runs) == [(x, s) for x in (0.1, 0.2, 0.4) for s in (0, 1)]


def test_without_the_entry_point_the_strategy_is_unknown(tmp_path, plugin_env):
    env = {**plugin_env, "HOTLAP_HOME": str(tmp_path / "runs")}
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: listed\nrecipe: toy\ndataset: synthetic:8\nstrategy: from_list\nspace: {x: [0.1]}\n"
    )
    refused = _run(["plan", str(spec)], env, tmp_path)
    assert refused.returncode == 2
    assert "unknown strategy 'from_list'" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_a_plugin_that_raises_or_exits_while_loading_is_one_line_and_exit_2(tmp_path, plugin_env):
    bad = tmp_path / "bad_plugin.py"
    for body in ("raise RuntimeError('broken on purpose')\n", "raise SystemExit(0)\n"):
        bad.write_text(body)
        env = {**plugin_env, "HOTLAP_PLUGINS": f"toy_recipe,{bad}"}
        result = _run(["recipes"], env, tmp_path)
        assert result.returncode == 2, (body, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "bad_plugin" in lines[0] and "raised" in lines[0], result.stderr


def test_load_plugins_loads_each_plugin_once(monkeypatch, tmp_path):
    from hotlap.plugins import load_plugins

    plugin = tmp_path / "counted_plugin.py"
    plugin.write_text(
        "import builtins\nbuiltins.hotlap_counted = getattr(builtins, 'hotlap_counted', 0) + 1\n"
    )
    monkeypatch.setenv("HOTLAP_PLUGINS", str(plugin))
    assert load_plugins() == [str(plugin)]
    assert load_plugins() == []
    import builtins

    assert builtins.hotlap_counted == 1
    del builtins.hotlap_counted


BASE = {
    "name": "s",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "seeds": 1,
    "space": {"x": {"low": 0.0, "high": 1.0}},
}


def test_a_strategy_takes_its_own_options_and_refuses_anothers():
    spec = parse_spec({**BASE, "strategy": {"name": "tpe", "trials": 4, "n_startup_trials": 2}})
    assert spec.strategy.options == {"n_startup_trials": 2}
    with pytest.raises(
        SpecError, match=r"strategy.population_size: strategy tpe has no option 'population_size'"
    ):
        parse_spec({**BASE, "strategy": {"name": "tpe", "trials": 4, "population_size": 8}})
    with pytest.raises(SpecError, match=r"strategy.n_startup_trials: .*greater than or equal to 1"):
        parse_spec({**BASE, "strategy": {"name": "tpe", "trials": 4, "n_startup_trials": 0}})


def test_a_spec_stored_with_null_options_still_parses_as_before():
    stored = {"name": "tpe", "seed": 0, "trials": 4, "n_startup_trials": None, "population_size": None}
    spec = parse_spec({**BASE, "strategy": stored})
    assert spec.strategy.options == {} and spec.strategy.trials == 4


@pytest.mark.parametrize("name", ["random", "tpe", "qmc", "gp"])
def test_every_sampler_needs_trials_or_a_budget(name):
    with pytest.raises(SpecError, match=f"strategy {name} needs strategy.trials or a budget"):
        parse_spec({**BASE, "strategy": name})


def test_the_multi_objective_sampler_states_how_many_objectives_it_takes():
    with pytest.raises(SpecError, match="strategy nsga2 is multi-objective: give 2 or more"):
        parse_spec({**BASE, "strategy": {"name": "nsga2", "trials": 4}})
    both = parse_spec(
        {
            **BASE,
            "strategy": {"name": "nsga2", "trials": 4},
            "objective": {"maximize": "tta_accuracy", "minimize": "train_time"},
        }
    )
    assert [o.metric for o in both.objective] == ["tta_accuracy", "train_time"]


def test_python_api_is_lazy():
    code = "import sys, hotlap; hotlap.load_spec; hotlap.Registry; print(sorted(m for m in ('torch', 'optuna', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
