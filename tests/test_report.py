"""`hotlap report` and `hotlap compare`: decisions, recommendation, every format, a real browser."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hotlap.comparisons import holm
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

from .test_sweep import RACE

# The columns name the sweep's metrics: RACE judges tta_accuracy and minimizes train_time.
REQUIRED_CSV = [
    "config_id",
    "x",
    "y",
    "n",
    "mean_tta_accuracy",
    "std_tta_accuracy",
    "ci_low_tta_accuracy",
    "ci_high_tta_accuracy",
    "success_rate",
    "success_ci_low",
    "success_ci_high",
    "mean_train_time",
    "std_train_time",
    "train_time_diff_vs_baseline",
    "train_time_diff_pct",
    "achieves_target",
    "decision",
    "p_value_vs_baseline",
    "mean_accuracy",
    "mean_total_time",
    "mean_eval_time",
]


@pytest.fixture
def raced(tmp_path, monkeypatch):
    """A finished toy sweep with a baseline, racing, a target and verification."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec({**RACE, "verify": {"seeds": 4}}))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    return record


def test_the_table_shows_decisions_the_recommendation_and_runs_saved(cli, raced):
    code, out, _ = cli("report", "race")
    assert code == 0
    assert "decision" in out and "pass" in out and "fail" in out
    assert "Use " in out and "with 95% confidence" in out
    assert "racing saved" in out
    assert "screening vs verification" in out and "the recommendation held" in out
    report_dir = raced.directory / "report"
    for name in (
        "report.csv",
        "report.json",
        "report.md",
        "report.html",
        "accuracy_vs_time.png",
        "accuracy_distributions.png",
    ):
        assert (report_dir / name).exists(), name
    for png in report_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_has_the_columns_and_one_row_per_config(cli, raced):
    code, out, _ = cli("report", "race", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert set(REQUIRED_CSV) <= set(rows[0])
    assert len(rows) == 7  # six grid points and the baseline
    # RACE races: every search row's intervals are labelled naive after racing, in the field's name
    assert {r["ci_naive_after_racing"] for r in rows} == {"True"}
    decisions = {r["decision"] for r in rows}
    assert decisions <= {"pass", "fail", "undecided"} and "pass" in decisions
    passing = [r for r in rows if r["decision"] == "pass"]
    assert all(r["achieves_target"] == "True" for r in passing)
    assert all(
        float(r["ci_low_tta_accuracy"]) <= float(r["mean_tta_accuracy"]) <= float(r["ci_high_tta_accuracy"])
        for r in rows
        if r["ci_low_tta_accuracy"]
    )
    baseline = next(r for r in rows if r["is_baseline"] == "True")
    assert baseline["p_value_vs_baseline"] == "" and baseline["train_time_diff_pct"] == ""
    # p-values vs the baseline, Holm-adjusted over the configs compared with it, per metric
    for column in ("p_value_vs_baseline", "train_time_p_value_vs_baseline"):
        holm_column = column.replace("p_value", "p_holm")
        compared = [r for r in rows if r[column]]
        assert len(compared) >= 2
        expected = holm([float(r[column]) for r in compared])
        assert [float(r[holm_column]) for r in compared] == pytest.approx(expected)
        assert all(float(r[holm_column]) >= float(r[column]) for r in compared)


def test_json_and_markdown_say_the_same(cli, raced, tmp_path):
    target = tmp_path / "r.json"
    code, _, _ = cli("report", "race", "--format", "json", "--out", str(target))
    doc = json.loads(target.read_text())
    assert code == 0 and doc["recommendation"]["config_id"] is not None
    assert doc["runs"]["used"] + doc["runs"]["saved"] == doc["runs"]["max_without_racing"]
    assert doc["verification"]["held"] is True and doc["verification"]["seeds"] == [15, 16, 17, 18]
    assert doc["target"]["threshold"] == 0.88 and doc["spec"]["name"] == "race"
    code, out, _ = cli("report", "race", "--format", "md")
    literal = html.unescape(re.sub(r"\\(.)", r"\1", out))  # the Markdown as a reader sees it
    assert out.startswith("# Sweep race-") and doc["recommendation"]["sentence"] in literal


def test_html_is_one_self_contained_file(cli, raced, tmp_path):
    target = tmp_path / "r.html"
    code, _, _ = cli("report", "race", "--format", "html", "--out", str(target))
    text = target.read_text()
    assert code == 0 and list(tmp_path.glob("*.png")) == []  # the plots live inside the file
    assert '<table id="configs">' in text and '<table id="verification">' in text
    assert text.count('src="data:image/png;base64,') >= 2
    assert "http://" not in text and "https://" not in text and "<script" not in text


def test_a_one_key_sweep_gets_its_own_plot(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    spec = {**RACE, "name": "onekey", "space": {"x": {"low": 0.0, "high": 0.6, "step": 0.15}}}
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    code, _, _ = cli("report", "onekey")
    assert code == 0 and (record.directory / "report" / "by_key.png").exists()


def test_report_print_writes_each_plot_at_300_dpi_with_a_vector_pdf_and_svg(cli, raced, tmp_path):
    """For a paper: `--print` writes every PNG at 300 dpi with a PDF and an SVG beside it; the
    default is the screen's 110 dpi and neither; with another format it is a one-line error."""
    from PIL import Image

    code, out, err = cli("report", "race", "--print", "--out", str(tmp_path / "print"))
    assert code == 0, err
    pngs = sorted((tmp_path / "print").glob("*.png"))
    assert pngs and all(round(Image.open(p).info["dpi"][0]) == 300 for p in pngs)
    assert all(p.with_suffix(".pdf").read_bytes().startswith(b"%PDF") for p in pngs)
    assert all(b"<svg" in p.with_suffix(".svg").read_bytes()[:1000] for p in pngs)
    assert "accuracy_vs_time.pdf" in " ".join(out.split()) and "accuracy_vs_time.svg" in " ".join(out.split())
    code, _, _ = cli("report", "race", "--out", str(tmp_path / "screen"))
    screen = sorted((tmp_path / "screen").glob("*.png"))
    assert all(round(Image.open(p).info["dpi"][0]) == 110 for p in screen)
    assert not list((tmp_path / "screen").glob("*.pdf")) and not list((tmp_path / "screen").glob("*.svg"))
    code, _, err = cli("report", "race", "--format", "csv", "--print")
    assert code == 2 and "--print: the plots are written with the table" in err


def test_bad_report_input_is_one_line(cli, raced):
    code, _, err = cli("report", "race", "--format", "pdf")
    assert code == 2 and "expected one of table, csv, json, md, html" in err
    for args in (
        ["--format", "csv", "--out", "/nonexistent/dir/r.csv"],
        ["--out", "/etc/passwd/x"],
    ):
        code, _, err = cli("report", "race", *args)
        assert code == 2 and "--out" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("export", "race", "--out", "/nonexistent/dir/x.csv")
    assert code == 2 and "not a writable folder" in err
    code, _, err = cli("report", "no-such-sweep")
    assert code == 2 and "no sweep 'no-such-sweep'" in err


def test_compare_two_configs_paired_where_they_share_most_seeds(cli, raced):
    code, out, _ = cli("report", "race", "--format", "json")
    doc = json.loads(out)
    best = doc["recommendation"]["config_id"]
    rows = {r["config_id"]: r for r in doc["configs"]}
    baseline = next(r["config_id"] for r in doc["configs"] if r["is_baseline"])
    code, out, _ = cli("compare", f"race/{best}", f"race/{baseline}")
    assert code == 0
    n_best, n_base = rows[best]["n"], rows[baseline]["n"]
    # Paired on the shared seeds where there are 5 or more (the same seeds 0..n-1), else Welch.
    expected = "paired on" if min(n_best, n_base) >= 5 else "Welch on"
    flat = " ".join(out.split())
    assert expected in out and "tta_accuracy" in out
    # The sweep's own time metric (it minimizes train_time), claimed only where the test says so.
    assert "train_time than B per run (p " in flat or "cannot be told apart in train_time" in flat
    # the sweep raced: the comparison says what its intervals and p-values do not account for
    assert (
        "Naive after racing: the seeds of " in flat
        and f"/{best} and " in flat
        and f"/{baseline} depended" in flat
    )
    code, out, _ = cli("compare", "race", baseline[:6])  # a sweep (its recommendation) and a config id prefix
    assert code == 0 and best in out
    code, _, err = cli("compare", "race", "nothing-like-it")
    assert code == 2 and "neither a sweep nor a config id" in err


def test_compare_refuses_an_ambiguous_id_and_says_what_it_tests(cli, raced, tmp_path, monkeypatch):
    """A config id in two sweeps is refused (naming both); the means shown are the ones the test
    compares (A - B is their difference); a time difference is claimed only where it is significant."""
    with Store(tmp_path) as store:  # the same config in a second sweep
        record, _ = open_sweep(store, parse_spec({**RACE, "name": "again", "seeds": 6}))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    code, out, _ = cli("report", "race", "--format", "json")
    best = json.loads(out)["recommendation"]["config_id"]
    code, _, err = cli("compare", best, "race")
    assert code == 2 and "2 places" in err and "race-" in err and "write SWEEP/CONFIG" in err
    code, out, _ = cli("compare", f"again/{best}", f"race/{best}")
    assert code == 0
    line = next(line for line in out.splitlines() if line.lstrip("│ ").startswith("tta_accuracy"))
    cells = [c.strip() for c in line.strip("│ ").split("│")]
    mean_a, mean_b, diff = (float(c.split()[0].rstrip("%")) for c in cells[1:4])
    assert diff == pytest.approx(mean_a - mean_b, abs=0.0015)  # the shown means' difference
    assert "shared" in line


def test_a_multi_key_sweep_says_which_key_matters_from_the_configs_means(cli, raced):
    """The toy's quality falls with (x - 0.3)**2 (0.09 over the swept x) and 0.01 y (0.02 over y):
    the main effects over the configs' means give x the larger share; the shares sum to 1, in the JSON and
    in a plot; the parallel-coordinates view has an axis per varying key and the mean."""
    from hotlap.analysis.importance import importance_of, importances, parallel_axes
    from hotlap.api import load_report

    analysis = load_report("race").analysis
    found = importances(analysis)
    assert set(found) == {"x", "y"} and found["x"] > found["y"] and sum(found.values()) == pytest.approx(1)
    axes, lines = parallel_axes(analysis)
    assert [name for name, _ in axes][:2] == ["x", "y"] and len(axes) == 3
    assert len(lines) == sum(1 for r in analysis.configs if r.fidelity == "full" and r.stage == "search")
    assert all(0 <= p <= 1 for positions, _ in lines for p in positions)
    code, out, _ = cli("report", "race", "--format", "json")
    assert code == 0 and json.loads(out)["importance"] == pytest.approx(found)
    shares, explained = importance_of(analysis)
    assert shares == found and json.loads(out)["importance_explained"] == pytest.approx(explained)
    assert 0.5 < explained <= 1  # the toy's keys make most of the spread of its configs' means


def test_importance_says_how_much_the_keys_explain_so_noise_does_not_pass_for_importance():
    """The shares always sum to 1, even over noise: `explained` says how much of the configs'
    variation the keys' main effects explain together, near 0 where the means do not depend on
    the keys (a random search over configs that differ by chance alone), near 1 where they do."""
    import numpy as np

    from hotlap.analysis.importance import explained, main_effects

    rng = np.random.default_rng(3)
    columns = {"lr": rng.uniform(1, 20, 2000).tolist(), "epochs": rng.integers(8, 11, 2000).tolist()}
    noise = rng.normal(0.94, 0.002, 2000)
    assert explained(main_effects(columns, noise), noise) < 0.02
    signal = 0.9 + 0.004 * np.asarray(columns["epochs"]) + rng.normal(0, 0.0005, 2000)
    assert explained(main_effects(columns, signal), signal) > 0.9
    assert explained({"lr": 0.0}, np.full(5, 0.94)) == 0.0  # no variation: nothing explained


def test_plots_of_some_configs_say_how_many_of_them_they_draw(raced, monkeypatch, tmp_path):
    """The parallel-coordinates plot draws the first MAX_LINES configs in report order, the
    distributions the first MAX_DISTRIBUTIONS; where the sweep has more, the title says how many of
    them it drew (a 50,000-config sweep's said "the configs" of the 500 drawn)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from hotlap.analysis import importance
    from hotlap.api import load_report
    from hotlap.report import plots, where_plots
    from hotlap.report.plot_data import full_reports

    matplotlib.use("Agg")
    analysis = load_report("race").analysis
    titles: list[str] = []

    def keep_title(fig, path):
        titles.append(fig.axes[0].get_title())
        plt.close(fig)
        return path

    monkeypatch.setattr(where_plots, "save", keep_title)
    monkeypatch.setattr(plots, "save", keep_title)
    judged = len(importance.judged_configs(analysis))
    where_plots.draw_parallel(analysis, *importance.parallel_axes(analysis), tmp_path / "all.png")
    monkeypatch.setattr(importance, "MAX_LINES", judged - 1)
    axes, lines = importance.parallel_axes(analysis)
    where_plots.draw_parallel(analysis, axes, lines, tmp_path / "fewer.png")
    assert len(lines) == judged - 1 and len(axes) == 3
    assert titles[0] == "The configs in parallel coordinates\ncolour: the mean; the best drawn on top"
    assert titles[1].endswith(f"\nthe first {judged - 1:,} of {judged:,} configs, in report order")
    full = len(full_reports(analysis))
    plots._draw_distributions(analysis, tmp_path / "boxes.png")
    monkeypatch.setattr(plots, "MAX_DISTRIBUTIONS", 3)
    plots._draw_distributions(analysis, tmp_path / "three.png")
    assert "best first" in titles[2] and full > 3
    assert f"per seed, the first 3 of {full:,} configs in report order" in titles[3]


def test_the_html_renders_in_headless_chromium_without_console_errors(cli, raced, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`); the HTML render check needs it")
    target = tmp_path / "report.html"
    cli("report", "race", "--format", "html", "--out", str(target))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    proc = subprocess.run(
        [browser, *flags, "--dump-dom", target.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert '<table id="configs">' in dom and dom.count("<img") >= 2 and "Use " in dom
    # a sweep over two keys: where configs matter (importance, parallel coordinates)
    assert 'alt="importance"' in dom and 'alt="parallel_coordinates"' in dom
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line]
    assert console == [], console
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", target.as_uri()],
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.exists() and shot.stat().st_size > 20_000  # a page with tables and plots, not a blank one


def test_a_digits_sweep_with_a_baseline_and_racing_reports_a_decision(tmp_path, cli, monkeypatch):
    """The real recipe on real data: decisions, recommendation, CSV, PNG and HTML."""
    spec = tmp_path / "digits.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "digits-race",
                "recipe": "airbench94",
                "dataset": "digits",
                "device": "cpu",
                # one TTA view: the final evaluation of six was a fifth of each run
                "base": {"width": 0.125, "epochs": 2, "batch_size": 128, "lr": 30.0, "tta_level": 0},
                "space": {"label_smoothing": [0.0]},
                "seeds": {"min": 2, "max": 4, "step": 2},
                "objective": {
                    "target": {"metric": "tta_accuracy", "at_least": 0.25, "confidence": 0.9},
                    "minimize": "total_time",
                },
                "baseline": {},
                "keep_weights": False,
            }
        )
    )
    workdir = tmp_path / "work"
    monkeypatch.setenv("HOTLAP_HOME", str(workdir))
    code, _, err = cli("sweep", str(spec), "--no-warmup")
    assert code == 0, err
    code, out, err = cli("report", "digits-race")
    assert code == 0, err
    assert "decision" in out and ("Use " in out or "No config reaches" in out)
    assert any(word in out for word in ("pass", "fail", "undecided"))
    (folder,) = (workdir / "sweeps").glob("digits-race-*/report")
    assert (folder / "report.csv").exists() and (folder / "report.html").exists()
    assert list(folder.glob("*.png"))


@pytest.mark.parametrize("signs", [(1.0, -1.0), (-1.0, -1.0), (1.0, 1.0)])
def test_the_pareto_front_is_exactly_the_non_dominated_points(signs):
    """The O(n log n) front equals the definition (no other point at least as good on both
    metrics and different), with ties on either metric and repeated points."""
    from hotlap.report.plot_data import PlotPoint, pareto_front

    rng = random.Random(3)
    points = [
        PlotPoint(str(i), "", a, a, a, t, t, t, None, False, False)
        for i, (a, t) in enumerate(
            (rng.choice([0.90, 0.91, 0.92, 0.93]), rng.choice([1.0, 1.5, 2.0, 2.5, 3.0])) for _ in range(200)
        )
    ]
    quality, cost = signs

    def key(p):
        return quality * p.accuracy, cost * p.time

    expected = {
        p.config_id
        for p in points
        if not any(key(q)[0] >= key(p)[0] and key(q)[1] >= key(p)[1] and key(q) != key(p) for q in points)
    }
    front = pareto_front(points, quality, cost)
    assert {p.config_id for p in front} == expected and expected
    assert [p.time for p in front] == sorted(p.time for p in front)


def test_the_vectorized_pareto_front_lists_what_the_plain_one_does_in_its_order():
    """NumPy's front (a search of 50,000 configs) is the plain pass's, point for point and in the
    same order: ties, signed zeros and infinities included."""
    from hotlap.report.plot_data import PlotPoint, _pareto_front_of, pareto_front

    rng = random.Random(5)
    for _ in range(300):
        points = []
        for i in range(rng.randint(1, 30)):
            a = rng.choice([0.9, 0.92, 0.0, -0.0, math.inf, -math.inf, rng.random()])
            t = rng.choice([1.0, 2.0, 0.0, -0.0, math.inf, rng.random()])
            points.append(PlotPoint(str(i), "", a, a, a, t, t, t, None, False, False))
        for quality, cost in [(1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)]:
            plain = _pareto_front_of(
                points, [quality * p.accuracy for p in points], [cost * p.time for p in points]
            )
            assert pareto_front(points, quality, cost) == plain


def test_the_box_plots_show_matplotlibs_own_statistics():
    """The boxes are drawn from hotlap's statistics (fewer artists): they must be the ones
    matplotlib's box plot would show, outliers and ties included."""
    from matplotlib.cbook import boxplot_stats

    from hotlap.report.plot_data import box_stats

    rng = random.Random(5)
    data = [[rng.gauss(94, 0.15) for _ in range(n)] for n in (2, 3, 5, 10, 50)]
    data += [[94.0] * 6, [94.0, 94.1, 94.1, 94.2, 90.0], [1.0, 2.0, 3.0, 4.0, 100.0]]
    ours = box_stats(data)
    for i, theirs in enumerate(boxplot_stats(data)):
        for name, key in (
            ("q1", "q1"),
            ("median", "med"),
            ("q3", "q3"),
            ("low", "whislo"),
            ("high", "whishi"),
        ):
            assert ours[name][i] == pytest.approx(theirs[key]), (i, name)


def test_the_box_plots_keep_every_point_inside_the_axes():
    """Configs of one run (or tied runs) are flat boxes: the highest and lowest of them must lie
    inside the axes with a margin, not on their edge (a bar's base stopped the margin there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hotlap.report.plots import _boxes

    data = [[93.8], [94.2], [94.0, 94.0], [94.05]]
    fig, ax = plt.subplots()
    _boxes(ax, data)
    ax.scatter([1, 2, 3, 3, 4], [v for values in data for v in values])
    low, high = ax.get_ylim()
    plt.close(fig)
    assert low < 93.8 and high > 94.2


def test_a_plot_of_thousands_of_configs_keeps_the_recommendation_and_the_baseline_barred():
    from hotlap.report.plot_data import MAX_ERRORBARS, PlotPoint, with_bars

    points = [
        PlotPoint(str(i), "", a, a, a, 1.0, 1.0, 1.0, None, i == 7, i == 3000)
        for i, a in enumerate(random.Random(1).random() for _ in range(5000))
    ]
    barred, dotted = with_bars(points, 1.0)
    assert len(barred) == MAX_ERRORBARS and len(barred) + len(dotted) == 5000
    assert {"7", "3000"} <= {p.config_id for p in barred}
    best = sorted(points, key=lambda p: -p.accuracy)[: MAX_ERRORBARS - 2]
    assert {p.config_id for p in best} <= {p.config_id for p in barred}


def test_a_large_sweep_shows_its_head_in_the_terminal_and_every_config_in_the_files(cli, tmp_path):
    """A sweep of 45 configs: the terminal table stops at 30 (plus the baseline, wherever it
    ranks), says how many more there are, and report.csv holds all 45."""
    spec = parse_spec(
        {
            "name": "wide",
            "recipe": "airbench94",
            "dataset": "synthetic:2048",
            "device": "cpu",
            "space": {"lr": {"low": 1.0, "high": 20.0}},
            "strategy": {"name": "random", "trials": 44},
            "seeds": 4,
            "baseline": {},
            "objective": {"maximize": "tta_accuracy"},
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        rows = []
        for index in range(45):
            config_id = f"c{index:03d}"
            store.add_config(
                record.id,
                config_id=config_id,
                config_hash=config_id,
                origin="random",
                is_baseline=index == 0,
                params={} if index == 0 else {"lr": 1.0 + index},
                config={},
            )
            for seed in range(4):  # the baseline ranks last: the lowest accuracy
                accuracy = 0.90 + index / 1000 + seed / 10000
                rows.append(
                    (
                        config_id,
                        seed,
                        {"tta_accuracy": accuracy, "train_time": 3.0},
                        "cpu",
                        "h",
                        None,
                        None,
                        None,
                    )
                )
        store.record_done(record.id, rows)
    code, out, err = cli("report", "wide", "--workdir", str(tmp_path), "--out", str(tmp_path / "r"))
    assert code == 0, err
    shown = {f"c{i:03d}" for i in range(45) if f"c{i:03d}" in out}
    assert shown == {"c000"} | {f"c{i:03d}" for i in range(15, 45)}  # the best 30, and the baseline
    assert "14 more configs" in out
    assert len(list(csv.DictReader((tmp_path / "r" / "report.csv").open()))) == 45
    document = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [r["config_id"] for r in document["configs"]][:2] == ["c044", "c043"] and len(
        document["configs"]
    ) == 45


def test_a_registered_report_format_prints_and_lands_in_the_report_folder(cli, raced, tmp_path):
    from hotlap.report import register_format
    from hotlap.report.formats import FORMATS

    @register_format("tsv", suffix="tsv")
    def tsv(analysis, sweep, environment, plots):
        return "\n".join(f"{r.config_id}\t{r.n}" for r in analysis.configs) + "\n"

    try:
        code, out, err = cli("report", "race", "--format", "tsv")
        assert code == 0, err
        assert all(len(line.split("\t")) == 2 for line in out.splitlines()) and out.count("\n") >= 2
        code, _, err = cli("report", "race", "--out", str(tmp_path / "r"))
        assert code == 0, err
        assert (tmp_path / "r" / "report.tsv").read_text() == out
    finally:
        FORMATS.unregister("tsv")


def test_compare_at_80_columns_keeps_every_name_and_number_whole(cli, raced):
    from .conftest import hotlap_script

    _, out, _ = cli("report", "race", "--format", "json")
    doc = json.loads(out)
    best = doc["recommendation"]["config_id"]
    baseline = next(r["config_id"] for r in doc["configs"] if r["is_baseline"])
    env = {**{k: v for k, v in os.environ.items() if k != "HOTLAP_PLUGINS"}, "COLUMNS": "80"}
    proc = subprocess.run(
        [hotlap_script(), "compare", f"race/{best}", f"race/{baseline}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in proc.stdout  # nothing cut
    names = {line.split(":")[0] for line in lines if not line.startswith(" ") and ": A " in line}
    assert {"tta_accuracy", "train_time", "total_time"} <= names
    # an accuracy's difference in points, with its interval, a number per word
    diff = next(line for line in lines if line.startswith("  A - B ") and "points" in line)
    assert re.fullmatch(
        r"  A - B [+-]\d+\.\d\d points(, 95% CI [+-]\d+\.\d\d points to [+-]\d+\.\d\d points)?", diff
    )


def test_a_line_break_in_a_name_stays_inside_its_markdown_cell():
    """A variant name or config value with a line break (or a `#`) would end the table row or start
    a heading in report.md: it is kept as a break inside the cell, and the table keeps its shape."""
    from hotlap.report.render import _md

    cell = _md("narrow\n# not a heading\r\nx|y")
    assert "\n" not in cell and "\r" not in cell
    assert cell == "narrow<br># not a heading<br>x\\|y"


def _weighting(config_id: str, weight: float, accuracies: list[float], vs, baseline: bool = False):
    from hotlap.analysis.reports import ConfigReport
    from hotlap.stats import describe

    seeds = tuple(range(len(accuracies)))
    return ConfigReport(
        config_id,
        {"tta_untranslated_weight": weight},
        {},
        baseline,
        "full",
        "search",
        0,
        seeds,
        {"tta_accuracy": describe(accuracies)},
        {"tta_accuracy": dict(zip(seeds, accuracies, strict=True))},
        None,
        None,
        vs,
        None,
    )


def test_without_a_target_a_best_mean_tied_with_the_baseline_is_not_called_best():
    """A TTA weighting 0.00 points from the reference (p 1) is no answer: the headline says no
    config is shown better than the baseline, with the difference and its test; a weighting
    clearly better is the best mean."""
    from hotlap.analysis.verification import recommended
    from hotlap.comparisons import compare

    spec = parse_spec(
        {
            "name": "weights",
            "recipe": "airbench94",
            "dataset": "digits",
            "device": "cpu",
            "space": {"tta_untranslated_weight": [0.3, 0.5]},
            "seeds": 6,
            "objective": {"maximize": "tta_accuracy"},
        }
    )
    base = [0.940, 0.942, 0.938, 0.941, 0.939, 0.940]
    for shift, tied in ((0.0, True), (0.002, False)):
        jitter = [0.0003, -0.0003, 0.0002, -0.0002, 0.0001, -0.0001]  # the weighting's own flips
        mine = [b + shift + e for b, e in zip(base, jitter, strict=True)]
        vs = compare(dict(enumerate(mine)), dict(enumerate(base)))
        reports = [_weighting("w03", 0.3, mine, vs), _weighting("w05", 0.5, base, None, baseline=True)]
        recommendation, _ = recommended(reports, None, 0.05, spec)
        if tied:
            assert recommendation.sentence.startswith(
                "No config is shown better than the baseline in tta_accuracy"
            )
            assert "differs from it by +0.00 points (paired" in recommendation.sentence
        else:
            assert recommendation.sentence.startswith("Best mean tta_accuracy: w03")


def test_a_documents_table_shows_the_first_configs_and_the_baseline_past_its_limit(cli, raced, monkeypatch):
    """Past MAX_DOCUMENT_ROWS configs (1,000: a page of 50,000 rows helps no reader and took
    seconds to write), the Markdown and HTML tables show the first in report order and the
    baseline, and say so; the CSV keeps every config."""
    import hotlap.report.render as render

    code, out, _ = cli("report", "race", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) > 3
    monkeypatch.setattr(render, "MAX_DOCUMENT_ROWS", 2)
    code, md, _ = cli("report", "race", "--format", "md")
    assert code == 0 and f"The first 2 of {len(rows)} configs in report order" in md
    table = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line][1:]
    baseline_shown = any(r["is_baseline"] == "True" for r in rows[:2])
    assert len(table) == (2 if baseline_shown else 3)
    code, out, _ = cli("report", "race", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == len(rows)  # the CSV: all of them


def test_the_tables_make_rows_only_for_the_configs_they_show(cli, raced, monkeypatch, tmp_path):
    """Past their limits the Markdown and the terminal table show the first configs in report
    order, the baseline and the recommendation, and say how many are left out; rows are made for
    those alone (a page of 1,000 configs made all 50,000 rows of the CSV first)."""
    from rich.console import Console

    import hotlap.report.render as render
    import hotlap.report.rows as rows_module
    import hotlap.report.terminal as terminal
    from hotlap.report import load_report, render_table

    code, out, _ = cli("report", "race", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    recommended = json.loads(cli("report", "race", "--format", "json")[1])["recommendation"]["config_id"]
    baseline = next(r["config_id"] for r in rows if r["is_baseline"] == "True")
    first = [r["config_id"] for r in rows[:2]]
    assert code == 0 and len(rows) > 4 and recommended is not None
    made: list[str] = []
    make = rows_module._Row.core  # (where each row's values are made)
    monkeypatch.setattr(
        rows_module._Row, "core", lambda self, report: made.append(report.config_id) or make(self, report)
    )
    monkeypatch.setattr(render, "MAX_DOCUMENT_ROWS", 2)
    monkeypatch.setattr(terminal, "MAX_TABLE_ROWS", 2)

    code, md, _ = cli("report", "race", "--format", "md")
    assert code == 0 and f"The first 2 of {len(rows)} configs in report order" in md
    assert set(made) == {*first, baseline, recommended}  # (the recommendation: where it is listed)

    made.clear()
    with Store(tmp_path) as store:
        report = load_report(store, "race")
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(render_table(report.analysis, report.sweep))
    text = console.export_text()
    print(text)
    left_out = len(rows) - len({*first, baseline, recommended})
    assert (
        f"{left_out:,} more configs, further down the order: every config is in report.csv and report.json"
        in text
    )
    screened = {r.config_id for r in report.analysis.verification}  # its screening rows, beside
    assert set(made) == {*first, baseline, recommended, *screened}


def test_the_csv_and_the_json_make_each_row_once(raced, monkeypatch, tmp_path):
    """The report folder writes the CSV and the JSON of the same rows: each config's row values
    are made once for both (they were made again for the JSON: half a second at 50,000 configs)."""
    import hotlap.report.rows as rows_module
    from hotlap.report import load_report
    from hotlap.report.render import render_csv, render_json

    with Store(tmp_path) as store:
        report = load_report(store, "race")
    made: list[int] = []
    make = rows_module._Row.core
    monkeypatch.setattr(rows_module._Row, "core", lambda self, r: made.append(id(r)) or make(self, r))
    table = render_csv(report.analysis)
    document = json.loads(render_json(report.analysis, report.sweep, None))
    assert len(made) == len(set(made))  # no report's row made twice
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(made) == len(rows) + len(document["verification"]["configs"]) and len(rows) > 4
    assert [r["config_id"] for r in rows] == [c["config_id"] for c in document["configs"]]


def test_a_swept_key_named_like_a_column_keeps_its_own_values():
    """A script's own key `n` (or `decision`) is swept: the report writes its values in a column
    of its own (`swept_n`) and shows them in the tables, never the seed count of column `n`."""
    from rich.console import Console

    from hotlap.analysis.configs import analyze
    from hotlap.report import render_csv, render_markdown, render_table
    from hotlap.store import ConfigRecord, RunRecord, SweepRecord

    script = {
        "command": ["{python}", "p.py", "{n}", "{decision}"],
        "metrics": {"val_acc": {"direction": "max", "kind": "fraction"}},
    }
    spec = parse_spec(
        {
            "name": "s",
            "recipe": "script",
            "base": {"n": 1, "decision": "a"},
            "space": {"n": [1, 2, 3], "decision": ["a", "b"]},
            "script": script,
            "seeds": 2,
        }
    )
    grid = [(n, d) for n in (1, 2, 3) for d in ("a", "b")]
    configs = [
        ConfigRecord("s", f"c{i}", "c" * 64, i, "grid", False, {"n": n, "decision": d}, {}, "now")
        for i, (n, d) in enumerate(grid)
    ]
    runs = [
        RunRecord(
            2 * i + seed,
            "s",
            f"c{i}",
            seed,
            "full",
            "done",
            {"val_acc": 0.1 * n + 0.01 * seed},
            *[None] * 5,
            1,
            *[None] * 4,
        )
        for i, (n, _) in enumerate(grid)
        for seed in range(2)
    ]
    analysis = analyze(spec, configs, runs, comparisons=False)
    rows = list(csv.DictReader(io.StringIO(render_csv(analysis))))
    assert {(r["swept_n"], r["swept_decision"]) for r in rows} == {(str(n), d) for n, d in grid}
    assert {r["n"] for r in rows} == {"2"} and {r["decision"] for r in rows} == {""}  # (no target)
    sweep = SweepRecord("s", "s", "script", "own-data", {}, "", Path("."), "done", "", 0, "now", "now")
    assert "n=3, decision=b" in render_markdown(analysis, sweep)
    console = Console(width=60, record=True, file=io.StringIO())  # narrow: the values under names
    console.print(render_table(analysis, sweep, width=60))
    text = console.export_text()
    assert "n=3" in text and "decision=b" in text


def test_the_accuracy_time_plot_summarizes_and_names_only_the_points_it_draws_with_intervals():
    """A search of 1,000 configs: the points drawn with their CIs (`with_bars`' choice) carry
    their CIs and names; the rest, drawn as dots, their means only (a report of 50,000 configs
    made an interval and a label for every dot)."""
    from hotlap.analysis.configs import analyze
    from hotlap.report.plot_data import MAX_ERRORBARS, accuracy_time_points, with_bars
    from hotlap.store import ConfigRecord, RunRecord

    values = [round(0.001 * i, 3) for i in range(1000)]
    spec = parse_spec(
        {
            "name": "s",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "space": {"x": values},
            "seeds": 3,
            "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.9}, "minimize": "train_time"},
        }
    )
    configs = [
        ConfigRecord("s", f"c{i}", "c" * 64, i, "grid", False, {"x": x}, {}, "now")
        for i, x in enumerate(values)
    ]
    rng = random.Random(4)
    runs = [
        RunRecord(
            3 * i + seed,
            "s",
            f"c{i}",
            seed,
            "full",
            "done",
            {"tta_accuracy": 0.85 + 0.1 * x + rng.gauss(0, 0.01), "train_time": 1.0 + x + rng.gauss(0, 0.05)},
            *[None] * 5,
            1,
            *[None] * 4,
        )
        for i, x in enumerate(values)
        for seed in range(3)
    ]
    analysis = analyze(spec, configs, runs, comparisons=False)
    points = accuracy_time_points(analysis)
    barred, dotted = with_bars(points, analysis.quality.sign)
    assert len(points) == 1000 and len(barred) == MAX_ERRORBARS
    for point in points:
        report = analysis.report_for(point.config_id)
        accuracy, time = report.metrics["tta_accuracy"], report.metrics["train_time"]
        assert (point.accuracy, point.time) == (accuracy.mean, time.mean)
    for point in barred:  # its interval and its name
        accuracy = analysis.report_for(point.config_id).metrics["tta_accuracy"]
        assert (point.accuracy_low, point.accuracy_high) == (accuracy.ci_low, accuracy.ci_high)
        assert point.accuracy_low < point.accuracy < point.accuracy_high and point.time_low < point.time_high
        assert point.label == f"x={analysis.report_for(point.config_id).params['x']:.4g}"
    for point in dotted:  # a dot: its means only
        assert point.label == "" and point.accuracy_low == point.accuracy == point.accuracy_high
        assert point.time_low == point.time == point.time_high
