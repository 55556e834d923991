"""The Pareto front of a multi-objective sweep: the configs no other beats on every objective."""

from __future__ import annotations

import csv
import io
import math
import random

import pytest
import toy_recipe  # noqa: F401  (registers the toy recipes)

from hotlap.analysis.pareto import non_dominated


def brute_force(values, signs):
    def dominates(a, b):
        oriented = [(s * x, s * y) for s, x, y in zip(signs, a, b, strict=True)]
        return all(x >= y for x, y in oriented) and any(x > y for x, y in oriented)

    ok = [i for i, v in enumerate(values) if not any(math.isnan(x) for x in v)]
    return [i for i in ok if not any(dominates(values[j], values[i]) for j in ok if j != i)]


def test_a_hand_made_front():
    # accuracy (max), latency (min): c is beaten by a on both; d ties a on accuracy, slower
    values = [[0.94, 2.0], [0.95, 3.0], [0.93, 2.5], [0.94, 2.2], [0.90, 1.0]]
    assert non_dominated(values, [1.0, -1.0]) == [0, 1, 4]
    assert non_dominated([[0.9, 1.0], [0.9, 1.0]], [1.0, -1.0]) == [
        0,
        1,
    ]  # equal: neither dominates
    assert non_dominated([[math.nan, 1.0], [0.5, 2.0]], [1.0, -1.0]) == [1]  # a missing mean takes no part
    assert non_dominated([], [1.0]) == []


@pytest.mark.parametrize("objectives", [2, 3])
def test_the_front_is_what_brute_force_finds(objectives):
    rng = random.Random(objectives)
    values = [[round(rng.random(), 2) for _ in range(objectives)] for _ in range(1300)]  # > one block
    signs = [rng.choice([1.0, -1.0]) for _ in range(objectives)]
    assert non_dominated(values, signs) == brute_force(values, signs)


def test_a_two_objective_sweep_reports_its_front_in_every_format(tmp_path, cli):
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor
    from hotlap.spec import parse_spec
    from hotlap.store import Store

    # toy: accuracy peaks at x = 0.3 and falls with y; train_time grows with y: y trades them off
    spec = parse_spec(
        {
            "name": "front",
            "recipe": "toy",
            "dataset": "synthetic:8",
            "device": "cpu",
            "seeds": 2,
            "space": {"x": [0.1, 0.3], "y": [0, 3]},
            "objective": {"maximize": "tta_accuracy", "minimize": "train_time"},
        }
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, spec)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    code, out, err = cli("report", "front", "--workdir", str(tmp_path), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    front = {r["config_id"] for r in rows if r["pareto"] == "True"}
    by_xy = {(float(r["x"]), int(r["y"])): r["config_id"] for r in rows}
    assert front == {by_xy[(0.3, 0)]}  # x=0.3, y=0 is the most accurate and the fastest
    code, out, err = cli("report", "front", "--workdir", str(tmp_path))
    assert code == 0 and "Pareto front on tta_accuracy (max), train_time (min): 1 of 4 configs" in out
    html = next((tmp_path / "sweeps").glob("front-*/report/report.html")).read_text()
    assert 'id="pareto"' in html and by_xy[(0.3, 0)] in html.split('id="pareto"')[1]
    code, out, err = cli("report", "front", "--workdir", str(tmp_path), "--format", "md")
    assert code == 0 and "## Pareto front on tta_accuracy (max), train_time (min)" in out, err
    assert by_xy[(0.3, 0)] in out.split("## Pareto front")[1]
