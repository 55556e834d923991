"""Checks for search strategies."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

__all__ = ["check_strategy"]


def _spec(name: str, space: dict[str, Any], options: dict[str, Any], trials: int, **extra: Any) -> Any:
    from hotlap.spec import parse_spec
    from hotlap.strategies import strategy_class
    from hotlap.testing.toy import tiny_spec

    cls = strategy_class(name)
    strategy = {"name": name, **options, **({} if cls.finite else {"trials": trials})}
    objective = {"maximize": "tta_accuracy"}
    if cls.objectives[0] > 1:
        objective["minimize"] = "train_time"
    return parse_spec(tiny_spec(f"kit-{name}", space=space, strategy=strategy, objective=objective, **extra))


def _inside(spec: Any, params: dict[str, Any]) -> bool:
    from hotlap.spec.fields import RangeSpec

    for key, entry in spec.space.items():
        value = params[key]
        if isinstance(entry, RangeSpec):
            if not entry.low <= value <= entry.high:
                return False
        elif value not in list(entry):
            return False
    return set(params) == set(spec.space)


def _proposes_and_restores(name: str, options: dict[str, Any]) -> None:
    from hotlap.strategies import get_strategy, is_finite

    space = {"x": {"low": 0.0, "high": 0.5, "step": 0.25}, "y": {"low": 0, "high": 1, "step": 1}}
    spec = _spec(name, {**space, "z": [1.0, 2.0]}, options, trials=5)
    strategy = get_strategy(spec)
    limit = strategy.total() if is_finite(name) else spec.strategy.trials
    assert limit is not None and limit > 0, f"{name}: says it proposes {limit} configs"
    proposals = []
    for _ in range(limit):
        proposal = strategy.ask()
        assert proposal is not None and _inside(spec, proposal.params), (
            f"{name}: {proposal} is outside the space"
        )
        proposals.append(proposal)
        values = [0.9 - proposal.params["x"]] + [1.0] * (len(spec.objective) - 1)
        strategy.tell(proposal, values, constraint=-0.01)
    if is_finite(name):
        assert strategy.ask() is None, f"{name}: proposes more than its total"
        assert len({tuple(sorted(p.params.items())) for p in proposals}) == limit, f"{name}: repeats a config"
    else:
        extra = strategy.ask()
        assert extra is not None
        strategy.tell(extra, None)  # a config whose every run failed
    again = get_strategy(spec)
    ones = [1.0] * (len(spec.objective) - 1)
    again.restore(
        [(p.params, [0.9, *ones], None) for p in proposals[:2]] + [(proposals[-1].params, None, None)]
    )
    assert again.ask() is not None, f"{name}: proposes nothing after a restore"


def _learns(name: str, options: dict[str, Any], trials: int) -> None:
    """Told that high x is good, it proposes higher x than when told that low x is: `tell` changes
    what `ask` proposes."""
    from hotlap.strategies import get_strategy

    space = {
        "x": {"low": 0.0, "high": 1.0},
        "z": {"low": 0.0, "high": 1.0},
    }  # (one key: NSGA-II mutates it always)
    spec = _spec(name, space, options, trials=trials)
    late = {}
    for direction in (1.0, -1.0):
        strategy, xs = get_strategy(spec), []
        for _ in range(trials):
            proposal = strategy.ask()
            assert proposal is not None
            x = proposal.params["x"]
            good = x if direction > 0 else 1 - x
            strategy.tell(proposal, [good] + [1 - good] * (len(spec.objective) - 1))
            xs.append(x)
        late[direction] = statistics.fmean(xs[-trials // 3 :])
    assert late[1.0] > late[-1.0] + 0.1, (
        f"{name} says it learns, but told high x is good it proposed x {late[1.0]:.2f} on average late on, "
        f"and told low x is good {late[-1.0]:.2f}"
    )


def _drives_a_sweep(name: str, options: dict[str, Any], workdir: Path) -> None:
    from hotlap.store import Store
    from hotlap.strategies import get_strategy, is_finite
    from hotlap.testing.toy import tiny_sweep

    spec = _spec(name, {"x": {"low": 0.0, "high": 0.5, "step": 0.25}, "y": [0, 1]}, options, trials=5)
    result = tiny_sweep(workdir, spec.to_plain())
    assert result.state == "done", f"{name}: the sweep ended {result.state}: {result.message}"
    with Store(workdir) as store:
        runs, configs = store.runs(result.sweep.id), store.configs(result.sweep.id)
    assert all(r.status == "done" for r in runs)
    assert len({(r.config_id, r.seed) for r in runs}) == len(runs) == 2 * len(configs), (
        f"{name}: a run repeated"
    )
    if is_finite(name):
        assert len(configs) == get_strategy(spec).total(), (
            f"{name}: ran another number of configs than its total"
        )


def check_strategy(
    name: str, workdir: Path, *, options: dict[str, Any] | None = None, trials: int = 30
) -> None:
    """Strategy `name`: proposals inside the space, each config of a finite one once and then
    nothing; tell (with a failed config) and restore work; where it `learns`, what it is told
    moves what it proposes (over `trials` asks); a whole sweep runs every (config, seed) once.
    `options`: its own spec options for the check (a small population, few startup trials)."""
    from hotlap.strategies import strategy_class

    options = dict(options or {})
    _proposes_and_restores(name, options)
    if strategy_class(name).learns:
        _learns(name, options, trials)
    _drives_a_sweep(name, options, workdir)
