"""Search strategies: finite enumerations, and Optuna's samplers through ask/tell."""

from __future__ import annotations

import itertools

import pytest

from hotlap.spec import SpecError, parse_spec
from hotlap.strategies import get_strategy

BASE = {"name": "s", "recipe": "toy", "dataset": "synthetic:8", "seeds": 1}


def spec(**fields):
    return parse_spec({**BASE, **fields})


def drain(strategy, limit=1000):
    out = []
    while len(out) < limit and (proposal := strategy.ask()) is not None:
        out.append(proposal.params)
        strategy.tell(proposal, [0.0])
    return out


def test_grid_is_the_cartesian_product_in_spec_order():
    s = spec(
        space={"x": [0.1, 0.2, 0.3], "y": {"low": 0, "high": 4, "step": 2}},
        variants={"a": {}, "b": {"choice": "b"}},
    )
    points = drain(get_strategy(s))
    expected = [
        {"variant": v, "x": x, "y": y}
        for v, x, y in itertools.product(["a", "b"], [0.1, 0.2, 0.3], [0, 2, 4])
    ]
    assert points == expected
    assert get_strategy(s).total() == 18


def test_an_empty_space_is_one_config():
    assert drain(get_strategy(spec())) == [{}]


def test_brute_covers_the_same_set_in_a_seeded_random_order():
    space = {
        "x": {"low": 0.0, "high": 0.5, "step": 0.1},
        "y": {"low": 0, "high": 3},
    }  # int range: no step needed
    grid = drain(get_strategy(spec(space={"x": space["x"], "y": [0, 1, 2, 3]})))
    brute = drain(get_strategy(spec(space=space, strategy={"name": "brute", "seed": 1})))
    again = drain(get_strategy(spec(space=space, strategy={"name": "brute", "seed": 1})))
    other = drain(get_strategy(spec(space=space, strategy={"name": "brute", "seed": 2})))
    assert len(brute) == 24 and sorted(map(repr, brute)) == sorted(map(repr, grid))
    assert brute == again and brute != other and brute != grid


@pytest.mark.parametrize("name", ["random", "tpe"])
def test_optuna_samplers_propose_inside_the_space(name):
    s = spec(
        space={
            "x": {"low": 0.01, "high": 5.0, "log": True},
            "y": {"low": 0, "high": 10, "step": 5},
            "choice": {"choices": ["a", "b", "c"]},
        },
        strategy={"name": name, "trials": 20, "seed": 3},
    )
    strategy = get_strategy(s)
    points = drain(strategy, limit=20)
    assert len(points) == 20
    for p in points:
        assert 0.01 <= p["x"] <= 5.0 and isinstance(p["x"], float)
        assert p["y"] in (0, 5, 10) and isinstance(p["y"], int)
        assert p["choice"] in ("a", "b", "c")
    assert drain(get_strategy(s), limit=20) == points  # seeded: the same proposals again


def test_tpe_learns_from_what_it_is_told():
    s = spec(
        space={"x": {"low": -2.0, "high": 2.0}},
        strategy={"name": "tpe", "trials": 40, "seed": 0, "n_startup_trials": 8},
    )
    strategy = get_strategy(s)
    late = []
    for i in range(40):
        proposal = strategy.ask()
        value = -((proposal.params["x"] - 0.3) ** 2)  # best at x = 0.3
        strategy.tell(proposal, [value])
        if i >= 30:
            late.append(abs(proposal.params["x"] - 0.3))
    assert sum(late) / len(late) < 0.5  # uniform proposals on [-2, 2] would average ~1.1 away


def test_nsga2_takes_one_value_per_objective():
    s = spec(
        space={"x": {"low": 0.0, "high": 1.0}},
        strategy={"name": "nsga2", "trials": 12, "population_size": 4},
        objective={"maximize": "tta_accuracy", "minimize": "train_time"},
    )
    strategy = get_strategy(s)
    for _ in range(12):
        proposal = strategy.ask()
        strategy.tell(proposal, [proposal.params["x"], proposal.params["x"]])  # accuracy costs time
    assert len(strategy.study.trials) == 12
    assert len(strategy.study.best_trials) >= 2  # a Pareto front, not one best


def test_restore_rebuilds_the_study_from_stored_results():
    s = spec(space={"x": {"low": 0.0, "high": 1.0}}, strategy={"name": "tpe", "trials": 10})
    strategy = get_strategy(s)
    strategy.restore([({"x": 0.25}, [0.5], None), ({"x": 0.75}, None, None)])
    states = [t.state.name for t in strategy.study.trials]
    assert states == ["COMPLETE", "FAIL"]
    assert strategy.study.best_trial.params == {"x": 0.25}


def test_a_registered_strategy_can_be_named_in_a_spec(tmp_path):
    from hotlap.engine.driver import Engine
    from hotlap.engine.session import open_sweep
    from hotlap.executors import InProcessExecutor
    from hotlap.store import Store
    from hotlap.strategies import Proposal, Strategy, register_strategy

    class Corners(Strategy):
        """Proposes the ends of every list in the space: the smallest and the largest values."""

        def __init__(self, spec):
            super().__init__(spec)
            self.points = [
                {k: v[0] for k, v in spec.space.items()},
                {k: v[-1] for k, v in spec.space.items()},
            ]

        def ask(self):
            return Proposal(self.points.pop(0)) if self.points else None

    register_strategy("corners", Corners)
    s = spec(
        space={"x": [0.1, 0.2, 0.3], "y": [0, 1, 2]},
        strategy={"name": "corners", "trials": 2},
        seeds=2,
    )
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, s)
        Engine(store, record, InProcessExecutor(warmup=False)).run()
        assert sorted(c.params["x"] for c in store.configs(record.id)) == [0.1, 0.3]
    with pytest.raises(Exception, match="unknown strategy 'corner' \\(closest: corners\\)"):
        spec(space={"x": [0.1]}, strategy={"name": "corner", "trials": 2})


RANGED = {
    "name": "s",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "seeds": 1,
    "space": {"x": {"low": 0.0, "high": 1.0}},
}


def test_a_strategy_takes_its_own_options_and_refuses_anothers():
    spec = parse_spec({**RANGED, "strategy": {"name": "tpe", "trials": 4, "n_startup_trials": 2}})
    assert spec.strategy.options == {"n_startup_trials": 2}
    with pytest.raises(
        SpecError, match=r"strategy.population_size: strategy tpe has no option 'population_size'"
    ):
        parse_spec({**RANGED, "strategy": {"name": "tpe", "trials": 4, "population_size": 8}})
    with pytest.raises(SpecError, match=r"strategy.n_startup_trials: .*greater than or equal to 1"):
        parse_spec({**RANGED, "strategy": {"name": "tpe", "trials": 4, "n_startup_trials": 0}})


def test_a_spec_stored_with_null_options_still_parses_as_before():
    stored = {"name": "tpe", "seed": 0, "trials": 4, "n_startup_trials": None, "population_size": None}
    spec = parse_spec({**RANGED, "strategy": stored})
    assert spec.strategy.options == {} and spec.strategy.trials == 4


@pytest.mark.parametrize("name", ["random", "tpe", "qmc", "gp"])
def test_every_sampler_needs_trials_or_a_budget(name):
    with pytest.raises(SpecError, match=f"strategy {name} needs strategy.trials or a budget"):
        parse_spec({**RANGED, "strategy": name})


def test_the_multi_objective_sampler_states_how_many_objectives_it_takes():
    with pytest.raises(SpecError, match="strategy nsga2 is multi-objective: give 2 or more"):
        parse_spec({**RANGED, "strategy": {"name": "nsga2", "trials": 4}})
    both = parse_spec(
        {
            **RANGED,
            "strategy": {"name": "nsga2", "trials": 4},
            "objective": {"maximize": "tta_accuracy", "minimize": "train_time"},
        }
    )
    assert [o.metric for o in both.objective] == ["tta_accuracy", "train_time"]
