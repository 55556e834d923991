"""A recipe from outside the package, with metrics of its own: raced, reported and kept in the
store after the plugin is gone."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import hotlap_script

# --- a recipe from outside the package, with metrics of its own --------------------------------

PLUGIN = """
from pydantic import Field
from torch import nn

from hotlap.config import RecipeConfig
from hotlap.metrics import Metric
from hotlap.recipes import RunResult, recipe


class KnobConfig(RecipeConfig):
    knob: float = Field(1.0, ge=0, le=10, description="more knob: better score, more latency and energy")


@recipe(
    "knob", config=KnobConfig, build_model=lambda c, n: nn.Linear(2, n), total_steps=lambda c, n: 1,
    summary="a plugin recipe with its own metrics",
    metrics=[
        Metric("score", "", "maximize", "fraction", description="a bounded score"),
        Metric("latency", "ms", "minimize", "time", description="inference latency"),
        Metric("energy", "J", "minimize", "cost", description="energy per run"),
    ],
)
def train(config, data, seed, *, on_epoch=None, keep_weights=True):
    noise = ((seed * 7919) % 13 - 6) / 2000
    score = min(0.99, 0.70 + 0.05 * config.knob + noise)
    if on_epoch is not None:
        on_epoch({"epoch": 1, "score": score})
    return RunResult(seed, metrics={"score": score, "latency": 10.0 * (1 + config.knob) * (1 + noise),
                                    "energy": 100.0 * config.knob + 1.0})
"""

SPEC = """
name: knobs
recipe: knob
dataset: synthetic:8
device: cpu
space: {knob: [1.0, 2.0, 3.0, 4.0]}
seeds: {min: 3, max: 6, step: 3}
objective:
  target: {metric: score, at_least: 0.82, confidence: 0.9}
  minimize: latency
baseline: {knob: 4.0}
"""


def _hotlap(args: list[str], cwd: Path, plugin_dir: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HOTLAP_PLUGINS", "PYTHONPATH")}
    env["COLUMNS"] = "200"
    if plugin_dir is not None:
        env.update(PYTHONPATH=str(plugin_dir), HOTLAP_PLUGINS="knob_recipe")
    return subprocess.run(
        [hotlap_script(), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_a_plugin_recipes_own_metrics_race_report_and_outlive_the_plugin(tmp_path, cli, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "knob_recipe.py").write_text(textwrap.dedent(PLUGIN))
    (tmp_path / "knobs.yaml").write_text(SPEC)
    work = ["--workdir", str(tmp_path / "runs")]

    ran = _hotlap(["sweep", "knobs.yaml", *work], tmp_path, plugins)
    assert ran.returncode == 0, ran.stderr
    # knob 1 and 2 miss 0.78; knob 3 passes with the lowest latency.
    assert "Use " in ran.stdout and "knob=3" in ran.stdout and "latency" in ran.stdout
    with_plugin = tmp_path / "report-with-plugin"
    report = _hotlap(["report", "knobs", *work, "--out", str(with_plugin)], tmp_path, plugins)
    assert report.returncode == 0, report.stderr

    # The rest runs in this process, which never imported the plugin: it is gone.
    monkeypatch.delenv("HOTLAP_PLUGINS", raising=False)
    assert "knob_recipe" not in sys.modules
    report_dir = tmp_path / "report"
    code, _, err = cli("report", "knobs", *work, "--out", str(report_dir))
    assert code == 0, err
    assert (report_dir / "report.csv").read_text() == (with_plugin / "report.csv").read_text()
    rows = list(csv.DictReader(io.StringIO((report_dir / "report.csv").read_text())))
    assert {"mean_score", "ci_low_score", "mean_latency", "latency_diff_pct", "mean_energy"} <= set(rows[0])
    decisions = {r["knob"]: r["decision"] for r in rows}
    assert decisions["1.0"] == "fail" and decisions["3.0"] == "pass"
    markdown = (report_dir / "report.md").read_text()
    assert "score %" in markdown and "latency ms" in markdown
    assert {"accuracy_vs_time.png", "accuracy_distributions.png", "by_key.png"} <= {
        p.name for p in report_dir.iterdir()
    }
    code, out, err = cli("export", "knobs", *work)
    assert code == 0, err
    frame = list(csv.DictReader(io.StringIO(out)))
    assert {"score", "latency", "energy"} <= set(frame[0])
    assert all(float(r["energy"]) > 0 for r in frame)
    code, out, err = cli("status", "knobs", *work)
    assert code == 0 and "score" in out, err
    code, out, err = cli("compare", "knobs", "knobs/" + rows[-1]["config_id"], *work)
    assert code == 0 and "energy" in out, err
    code, out, err = cli("report", "knobs", *work, "--format", "json")
    assert code == 0, err
    assert [m["name"] for m in json.loads(out)["metrics"]] == ["score", "latency", "energy"]

    code, _, err = cli("resume", "knobs", *work)  # training needs the recipe
    assert code == 2 and "unknown recipe 'knob'" in err
    code, _, err = cli("eval", "knobs", "--vary", "knob=1,2", *work)  # so does evaluating
    assert code == 2 and "unknown recipe 'knob'" in err and len(err.strip().splitlines()) == 1
