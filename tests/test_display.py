"""What a user sees at the terminal: ids never cut, at 80 and 100 columns."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from hotlap.callbacks import Callback
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

from .conftest import hotlap_script
from .test_sweep import RACE

LONG = "a-rather-long-sweep-name-for-the-grid-smoke-test"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    ids = [_toy_sweep(home, name).id for name in (LONG, "short")]
    return home, ids


def _toy_sweep(home, name: str, **fields):
    """A finished sweep of the toy recipe: 2 seeds of the base config, and `fields`."""
    spec = {
        "name": name,
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 2,
        **fields,
    }
    with Store(home) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    return record


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_ls_never_cuts_a_sweep_id(workdir, columns):
    home, ids = workdir
    env = {
        **{k: v for k, v in os.environ.items() if k != "HOTLAP_PLUGINS"},
        "COLUMNS": str(columns),
    }
    proc = subprocess.run(
        [hotlap_script(), "ls", "--workdir", str(home)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= columns for line in lines)
    for sweep_id in ids:  # whole, on one line, with its counts and state shown with it
        (line,) = [i for i, text in enumerate(lines) if sweep_id in text]
        assert "…" not in lines[line]
        assert "done" in lines[line] + (lines[line + 1] if line + 1 < len(lines) else "")


def test_progress_is_plain_lines_where_output_is_not_a_terminal(cli, tmp_path, monkeypatch):
    """Piped into a file (as `make demo | tee log` or CI), progress is lines while it runs, each
    with runs done of at most how many, elapsed time and ETA; no live display, no escape codes."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**RACE, "name": "piped"}))
    code, out, err = cli("sweep", str(spec))
    assert code == 0, err
    lines = [line for line in out.splitlines() if " runs at most, " in line]
    assert len(lines) >= 2 and lines[0].startswith("1/") and "elapsed" in lines[0]
    assert "eta at most" in lines[0] and "\x1b[" not in out + err
    done = [int(line.split("/")[0]) for line in lines]
    assert done == sorted(done) and done[-1] == int(out.split("sweep done: ")[1].split()[0])


class _Answers(Callback):
    def __init__(self) -> None:
        self.named: list[str | None] = []

    def run_end(self, event, **info):
        self.named.append(event.best.config_id if event.best is not None else None)


def test_the_live_best_is_the_decision_rules_current_answer(tmp_path):
    """With a target, "best so far" is a config that passed, never the fastest of all (here the
    fastest config, y=0 with x far from 0.3, misses the target; "near" races on after "right"
    passed, and meanwhile "right" is the answer)."""
    answers = _Answers()
    with Store(tmp_path) as store:
        variants = {
            "fast_but_wrong": {"x": 0.0, "y": 0},
            "right": {"x": 0.3, "y": 2},
            "near": {"x": 0.44, "y": 1},
        }
        raw = {**RACE, "space": {}, "variants": variants, "baseline": None}
        raw["objective"] = {
            **RACE["objective"],
            "target": {"metric": "tta_accuracy", "at_least": 0.86},
        }
        record, _ = open_sweep(store, parse_spec(raw))
        result = Engine(
            store, record, InProcessExecutor(warmup=False), callbacks=[("answers", answers)]
        ).run()
        decisions = {r.config_id: r.verdict.decision for r in result.analysis.configs if r.verdict}
        fastest = min(result.analysis.configs, key=lambda r: r.metrics["train_time"].mean).config_id
    named = [c for c in answers.named if c is not None]
    assert named and answers.named[0] is None  # nothing has passed after the first run
    assert all(decisions[c] == "pass" for c in named) and fastest not in named
    assert decisions[fastest] == "fail"


def test_show_prints_values_an_override_takes_back(cli):
    """`show` prints YAML (null, true, cyclic), and every value it prints, given back as
    KEY=VALUE, resolves to the same config."""
    from hotlap.cli.runs import _yaml_scalar
    from hotlap.config import parse_overrides
    from hotlap.recipes import get_recipe

    code, out, _ = cli("show", "airbench94")
    assert code == 0 and " null " in out and "None" not in out and "'" not in out
    recipe = get_recipe("airbench94")
    config = recipe.config({})
    shown = [f"{name}={_yaml_scalar(getattr(config, name))}" for name in recipe.config_cls.model_fields]
    assert recipe.config(parse_overrides(shown)) == config


def test_a_partial_sweep_says_how_much_ran_and_how_to_go_on(cli, tmp_path, monkeypatch):
    from .test_sweep import GRID

    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**GRID, "budget": {"max_runs": 5}}))
    code, out, _ = cli("sweep", str(spec))
    flat = " ".join(out.split())
    assert code == 0 and "budget reached: 5 runs" in flat and "hotlap resume grid-" in flat
    assert "budget.max_runs=" in flat
    # the command to go on with is a line of its own, whole
    assert any(
        re.fullmatch(r"  hotlap resume grid-\S+ budget\.max_runs=\.\.\.", line) for line in out.splitlines()
    )
    code, out, _ = cli("status", "grid")
    assert code == 0 and " of 9, seeds 3 each" in " ".join(out.split())  # 4 x 2 grid + baseline
    code, out, _ = cli("report", "grid")
    flat = " ".join(out.split())
    assert code == 0 and "Partial: " in flat and "of 9 configs have runs so far" in flat
    assert "the sweep is stopped" in flat
    code, out, _ = cli("report", "grid", "--format", "md")
    assert "Partial: " in out


def test_run_target_is_the_sweeps_target(cli, tmp_path, monkeypatch):
    """`hotlap run --target 0.5` stores 0.5 as its sweep's target: status and the report judge
    against it, and never tell the user to set objective.target, which run has not."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    code, _, err = cli(
        "run", "toy", "--data", "synthetic:8", "--device", "cpu", "--seeds", "3", "--target", "0.5"
    )
    assert code == 0, err
    with Store(tmp_path / "home") as store:
        (sweep,) = store.sweeps()
    assert sweep.spec["target"]["at_least"] == 0.5 and sweep.spec["target"]["metric"] == "tta_accuracy"
    code, out, _ = cli("status", sweep.id)
    flat = " ".join(out.split())
    assert code == 0 and "objective.target" not in flat and "50.00%" in flat


def test_a_derived_name_clash_says_how_to_name_it(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    _toy_sweep(tmp_path, "src")
    assert cli("eval", "src", "--vary", "bonus=0.1")[0] == 0
    code, _, err = cli("eval", "src", "--vary", "bonus=0.2")
    assert code == 2 and "--name NAME" in err and err.count("\n") == 1
    assert cli("eval", "src", "--vary", "bonus=0.2", "--name", "src-bonus-2")[0] == 0


def test_a_base_key_the_space_replaces_is_a_warning(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "shadow",
                "recipe": "toy",
                "dataset": "synthetic:8",
                "device": "cpu",
                "seeds": 2,
                "base": {"x": 0.3},
                "space": {"x": [0.1, 0.2]},
            }
        )
    )
    code, _, err = cli("sweep", str(spec))
    assert code == 0 and "hotlap: warning: base.x=0.3 is ignored: x is swept in space" in err


def test_vs_baseline_is_in_the_objectives_metric(cli, tmp_path, monkeypatch):
    """A study that maximizes accuracy (no target) compares accuracies with the baseline, not times;
    a target study (the fastest config that reaches it) compares times."""
    from .test_sweep import GRID

    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    with Store(tmp_path / "home") as store:
        record, _ = open_sweep(store, parse_spec({**GRID, "objective": {"maximize": "tta_accuracy"}}))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    code, out, _ = cli("report", "grid", "--format", "md")
    header = out.splitlines()[4]
    assert code == 0 and "vs baseline (tta_accuracy, points)" in header, header
    code, csv_text, _ = cli("report", "grid", "--format", "csv")
    import csv
    import io

    rows = {r["config_id"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    best = max(rows.values(), key=lambda r: float(r["mean_tta_accuracy"]))
    diff = 100 * float(best["tta_accuracy_diff_vs_baseline"])
    line = next(line for line in out.splitlines() if line.startswith(f"| {best['config_id']}"))
    assert f"+{diff:.2f}" in line.split("|")[8]  # the vs-baseline cell: points of tta_accuracy


def test_plan_says_what_a_sweep_will_do_and_writes_nothing(cli, tmp_path, monkeypatch):
    from .test_sweep import GRID

    home = tmp_path / "home"
    monkeypatch.setenv("HOTLAP_HOME", str(home))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**RACE, "verify": {"seeds": 4}}))
    code, out, err = cli("plan", str(spec))
    flat = " ".join(out.split())
    assert code == 0, err
    # 3 x 2 grid + the baseline, racing 3-15 seeds; verification: the recommendation and the baseline
    assert "search 7 3-15 (racing) 21-105" in flat and "verify on fresh seeds 2 4 8" in flat
    assert "runs: 29-113" in flat and "no sweep named race yet" in flat
    assert not home.exists()  # nothing written, not even a store
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    assert cli("sweep", str(grid))[0] == 0
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    code, out, _ = cli("sweep", str(grid), "--dry-run")
    flat = " ".join(out.split())
    assert code == 0 and "runs: 27" in flat and "27 done" in flat and "hotlap sweep continues it" in flat
    assert "9 trainings per seed, from 27 earlier runs of toy on synthetic:8 on this device" in flat
    assert "from the quartiles" in flat and "rough" not in flat  # every config ran here before
    code, out, _ = cli("plan", str(grid), "space.y=[0]")
    assert "this spec changes space" in " ".join(out.split())
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before


def test_the_time_estimate_rests_on_comparable_runs():
    """A quantization-like plan: one training per seed and 45 evaluations of its network, timed
    from earlier trainings of the same config (20 s) and earlier evaluations (0.5 s), not from the
    median of every run of the recipe (which ResNet-50-like 200 s runs would set); a training that
    never ran here is priced at the recipe's seconds per step, for its own steps, and said rough."""
    from hotlap.engine.estimate import PastRun, PlannedConfig, estimate

    history = [PastRun(20.0 + i % 3, "r18-e30", False, 3000) for i in range(6)]
    history += [PastRun(200.0, "r50-e30", False, 3000) for _ in range(10)]
    history += [PastRun(0.5, "r18-e30", True) for _ in range(40)]
    planned = [PlannedConfig("r18-e30", True, 3000) for _ in range(46)]
    found = estimate(planned, history)
    assert found is not None and (found.trainings, found.evaluations, found.comparable) == (1, 45, 1)
    median, low, high = found.per_seed
    assert median == 21.0 + 45 * 0.5 and low <= median <= high and not found.rough
    longer = estimate([PlannedConfig("r18-e60", False, 6000)], history)
    assert longer is not None and longer.rough and longer.comparable == 0
    rate = sorted([r.seconds / 3000 for r in history if not r.evaluated])
    assert longer.per_seed[0] == pytest.approx(6000 * (rate[7] + rate[8]) / 2)  # the median pace
    assert estimate(planned, [PastRun(0.5, "r18-e30", True)]) is None  # no training to go by


def _table_text(home, name: str, width: int) -> str:
    from rich.console import Console

    from hotlap.report import load_report, render_table

    with Store(home) as store:
        loaded = load_report(store, name)
    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(render_table(loaded.analysis, loaded.sweep, width=width))
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_a_multi_key_report_is_a_line_per_config_with_rounded_values(tmp_path, width):
    """TPE-like values (0.266808801881) print to 4 significant digits in a column per swept key,
    one line per config where the terminal has room; on a narrow one the values go under the id,
    never cut mid-number; numbers never wrap."""
    raw = {
        "name": "multi",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": {"min": 3, "max": 9, "step": 3},
        "space": {"x": {"low": 0.1, "high": 0.5}, "y": [0, 1, 2]},
        "strategy": {"name": "random", "trials": 6, "seed": 1},
        "baseline": {},
        "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.85}, "minimize": "train_time"},
    }
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(raw))
        result = Engine(store, record, InProcessExecutor(warmup=False)).run()
    text = _table_text(tmp_path, "multi", width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    for report in result.analysis.configs:
        (index,) = [
            i for i, line in enumerate(lines) if line.lstrip().startswith(report.config_id) and "±" in line
        ]
        x = f"{report.params.get('x', 0.5):.4g}"
        row = lines[index] if width >= 100 else lines[index] + " " + lines[index + 1]
        assert str(report.n) in lines[index]
        assert x in row or not report.params  # its values, whole (the baseline: "baseline" in short)
    assert "0.2668088" not in text  # no 10-digit values


def test_plot_points_have_short_names_and_whiskers_inside_the_metrics_range(tmp_path):
    from hotlap.report.plot_data import accuracy_time_points, clip, short_label

    assert clip(-0.2, 0.1, 0.3, (0.0, float("inf"))) == (0.0, 0.3)  # no negative seconds
    assert clip(0.97, 0.99, 1.02, (0.0, 1.0)) == (0.97, 1.0)  # no accuracy above 100%
    assert clip(None, 0.5, None, (0.0, 1.0)) == (0.5, 0.5)
    raw = {
        "name": "named",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 3,
        "variants": {"narrow_block2": {"x": 0.3}, "a_rather_long_variant_name_indeed": {"x": 0.266808801881}},
        "baseline": {},
    }
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(raw))
        result = Engine(store, record, InProcessExecutor(warmup=False)).run()
    labels = {short_label(r) for r in result.analysis.configs}
    assert labels == {
        "narrow_block2",
        "a_rather_long_variant_n…",
        "baseline",
    }  # 24 characters at most
    for point in accuracy_time_points(result.analysis):
        assert 0 <= point.accuracy_low <= point.accuracy <= point.accuracy_high <= 1
        assert 0 <= point.time_low <= point.time <= point.time_high


def test_a_derived_sweep_with_equal_times_plots_the_objective_against_its_key(tmp_path, monkeypatch):
    import hotlap.report.plots as plots
    from hotlap.analysis.configs import analyze
    from hotlap.offline import derive_sweep
    from hotlap.spec.validate import stored_spec

    _toy_sweep(tmp_path, "src", seeds=5)  # 5 shared seeds: compared paired
    with Store(tmp_path) as store:
        derived = derive_sweep(store, "src", {"bonus": [0.0, 0.05, 0.1]}, reference={"bonus": 0.0})
        Engine(store, derived, InProcessExecutor(warmup=False)).run()
        analysis = analyze(stored_spec(derived.spec), store.configs(derived.id), store.runs(derived.id))
    drawn = []
    real = plots.draw_one_key
    monkeypatch.setattr(
        plots,
        "draw_one_key",
        lambda a, key, rows, path: drawn.append((key, path.name)) or real(a, key, rows, path),
    )
    written = plots.draw_all(analysis, tmp_path / "plots")
    # drawn once (not once more as accuracy_vs_time.png, which every config shares), and the
    # paired differences from the baseline it measures, beside it
    assert drawn == [("bonus", "by_key.png")] and all(p.is_file() for p in written)
    assert sorted(p.name for p in written) == ["by_key.png", "paired_vs_baseline.png"]


def test_the_live_display_keeps_counts_and_times_at_100_columns(tmp_path):
    """On a 100-column terminal the long texts give way, never the runs done, elapsed time or ETA."""
    from rich.console import Console

    from hotlap.callbacks import RunEnded, SweepEnded, SweepInfo
    from hotlap.callbacks.progress import RichProgress
    from hotlap.executors import Outcome

    record = _toy_sweep(tmp_path, "a-rather-long-sweep-name-for-the-live-display-test")
    spec = parse_spec({**RACE, "name": "live"})
    console = Console(width=100, force_terminal=True, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    progress = RichProgress(console=console, plain=False)
    progress.sweep_start(SweepInfo(record, spec, tmp_path, 54, 0))
    with Store(tmp_path) as store:
        run = store.runs(record.id)[0]
    summary = type("Best", (), {"config_id": "f876cec8bd", "n": 6, "mean": lambda self, m: 0.8958})()
    progress.run_end(
        RunEnded(run, Outcome(run_id=run.id, status="done", metrics={"tta_accuracy": 0.9}), summary)
    )
    frame = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    frame.print(progress.progress.get_renderable())  # what the live display shows now
    progress.sweep_end(SweepEnded(None))
    (line,) = frame.export_text().splitlines()
    assert "1/54" in line and "runs at most" in line and "0:00:0" in line and "eta " in line
    assert "recommended so" in line and len(line) <= 100  # the text is what gives way


def test_a_grid_over_two_keys_is_a_heatmap_and_over_three_a_panel_per_key(tmp_path, monkeypatch):
    """Two swept keys: each (x, y) config's mean in its cell, with its decision, drawn as
    by_keys.png (not past MAX_CELLS cells: a random search's sampled values); three: each key read
    alone (its values' configs, best to worst) in by_key_panels.png."""
    from hotlap.analysis.configs import analyze
    from hotlap.report import key_data
    from hotlap.report.key_data import key_panels, two_key_grid
    from hotlap.report.plots import draw_all
    from hotlap.spec.validate import stored_spec

    record = _toy_sweep(tmp_path, "two", space={"x": [0.0, 0.3], "y": [0, 1, 2]})
    with Store(tmp_path) as store:
        analysis = analyze(stored_spec(record.spec), store.configs(record.id), store.runs(record.id))
        means = {(r.params["x"], r.params["y"]): r.metrics["tta_accuracy"].mean for r in analysis.configs}
    row_key, col_key, rows, cols, cells = two_key_grid(analysis)
    assert (row_key, col_key, rows, cols) == ("x", "y", [0.0, 0.3], [0, 1, 2])
    assert all(cells[i][j][0] == means[(x, y)] for i, x in enumerate(rows) for j, y in enumerate(cols))
    assert {p.name for p in draw_all(analysis, tmp_path / "two-plots")} >= {"by_keys.png"}
    monkeypatch.setattr(key_data, "MAX_CELLS", 5)  # 2 x 3 cells: one past it, no heatmap
    assert two_key_grid(analysis) is None and {k for k, _ in key_panels(analysis)} == {"x", "y"}
    monkeypatch.setattr(key_data, "MAX_CELLS", 6)
    assert two_key_grid(analysis) == (row_key, col_key, rows, cols, cells)

    record = _toy_sweep(tmp_path, "three", space={"x": [0.0, 0.3], "y": [0, 2], "choice": ["a", "b"]})
    with Store(tmp_path) as store:
        analysis = analyze(stored_spec(record.spec), store.configs(record.id), store.runs(record.id))
    panels = dict(key_panels(analysis))
    assert two_key_grid(analysis) is None and set(panels) == {"x", "y", "choice"}
    at_x = {row["value"]: row for row in panels["x"]}
    assert at_x[0.3]["configs"] == 4 and at_x[0.3]["best"] >= at_x[0.3]["mean"] >= at_x[0.3]["worst"]
    assert at_x[0.3]["mean"] > at_x[0.0]["mean"]  # the toy's accuracy peaks at x = 0.3
    assert {p.name for p in draw_all(analysis, tmp_path / "three-plots")} >= {"by_key_panels.png"}


def test_the_eta_weighs_trainings_and_evaluations_of_a_shared_network_apart():
    """A quantization-like sweep trains once per seed and evaluates that network many times: two
    30 s trainings and ten 0.5 s evaluations done in 65 s, 80 evaluations left, is 40 s left, not
    the 7 minutes that counting every run alike gives. Without the share, runs count alike."""
    from hotlap.callbacks.progress import RichProgress
    from hotlap.engine.mix import evaluation_share

    progress = RichProgress(plain=True)
    progress.total, progress.done, progress.started_with = 92, 12, 0
    progress.kinds = {"train": [2, 60.0], "eval": [10, 5.0]}
    progress.evaluations = 90 / 92
    assert progress.eta(65.0) == pytest.approx(65 * (80 * 0.5) / 65)
    progress.evaluations = None
    assert progress.eta(65.0) == pytest.approx(65 / 12 * 80)
    spec = parse_spec(
        {
            "name": "q",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"bonus": [0.0, 0.1, 0.2]},
        }
    )
    assert evaluation_share(spec) == pytest.approx(2 / 3)  # one training per seed, two evaluations
    trains = parse_spec({**spec.to_plain(), "space": {"x": [0.1, 0.2]}, "metrics": None})
    assert evaluation_share(trains) == 0.0


def test_the_eta_knows_the_share_of_evaluations_of_a_learning_search_and_of_a_grid_over_2000():
    """TPE over evaluation-only fields trains once per seed (the quantization study: the ETA said
    9h53m for a 23-minute sweep), and a 3,000-config grid whose evaluation axis has 100 values
    trains 30 networks a seed: each share is known at the start, so runs are not counted alike.
    A search that also samples a continuous training field trains at nearly every config."""
    from hotlap.engine.mix import evaluation_share, planned_configs

    plain = {"name": "q", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu", "baseline": {}}
    tpe = {**plain, "space": {"bonus": {"low": 0.0, "high": 1.0}}, "strategy": {"name": "tpe", "trials": 40}}
    tpe = parse_spec(tpe)
    assert evaluation_share(tpe) == pytest.approx(1 - 1 / 41)  # 40 configs and the baseline
    assert len({c.key for c in planned_configs(tpe)}) == 1  # `hotlap plan` prices one training
    both = {"bonus": {"low": 0.0, "high": 1.0}, "x": {"low": 0.0, "high": 1.0}}
    mixed = parse_spec({**tpe.to_plain(), "space": both})
    assert evaluation_share(mixed) == pytest.approx(0.0, abs=0.03)
    grid = parse_spec(
        {**plain, "space": {"x": [(i + 0.5) / 30 for i in range(30)], "bonus": [i / 100 for i in range(100)]}}
    )
    assert evaluation_share(grid) == pytest.approx(1 - 31 / 3001)  # the baseline trains its own
