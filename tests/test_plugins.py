"""Plugins from outside hotlap: an installed package's `hotlap.plugins` entry point (a finite plugin
strategy that needs no trials), `$HOTLAP_PLUGINS` by module or file, each loaded once, and a plugin
that raises or exits while loading as one line."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

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


def test_a_plugin_that_raises_on_import_is_one_line_naming_it(tmp_path):
    (tmp_path / "badplug.py").write_text("x = 1\nraise RuntimeError('broken [/] plugin')\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "HOTLAP_PLUGINS": "badplug",
        "HOTLAP_HOME": str(tmp_path),
    }
    proc = subprocess.run([hotlap_script(), "ls"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "'badplug' raised RuntimeError: broken [/] plugin at badplug.py:2" in proc.stderr
    debug = subprocess.run(
        [hotlap_script(), "ls", "--debug"], capture_output=True, text=True, env=env, timeout=120
    )
    assert debug.returncode == 2 and "Traceback" in debug.stderr and 'badplug.py", line 2' in debug.stderr


def test_a_plugin_can_be_named_by_its_file(tmp_path):
    """HOTLAP_PLUGINS=./my_recipe.py needs no PYTHONPATH."""
    plugin = Path(__file__).parent / "plugins" / "toy_recipe.py"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HOTLAP_PLUGINS")}
    proc = subprocess.run(
        [hotlap_script(), "recipes"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HOTLAP_PLUGINS": str(plugin), "COLUMNS": "200"},
    )
    assert proc.returncode == 0 and "toy" in proc.stdout, proc.stderr
    missing = subprocess.run(
        [hotlap_script(), "recipes"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HOTLAP_PLUGINS": str(tmp_path / "none.py")},
    )
    assert missing.returncode == 2 and "no file" in missing.stderr and missing.stderr.count("\n") == 1
