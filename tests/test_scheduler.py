"""The seed scheduler on its own: allotments, extensions in join order, closing, resumed races."""

from __future__ import annotations

import toy_recipe  # noqa: F401  (registers the toy recipe the spec names)

from hotlap.sweep import parse_spec
from hotlap.sweep.judging import guarantee
from hotlap.sweep.scheduler import SeedScheduler

SPEC = parse_spec({
    "name": "s", "recipe": "toy", "dataset": "synthetic:8", "device": "cpu", "space": {"x": [0.0, 1.0]},
    "seeds": {"min": 2, "max": 6, "step": 2},
    "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.9}, "minimize": "train_time"},
})  # fmt: skip


def _values(accuracies):
    return {"tta_accuracy": accuracies, "train_time": [1.0] * len(accuracies)}


def _run_all(scheduler, config_id):
    scheduler.queued(config_id, len(scheduler.seeds_for(config_id)))
    return [scheduler.finished(config_id) for _ in scheduler.seeds_for(config_id)]


def test_an_undecided_config_races_on_and_a_clear_one_closes():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    assert scheduler.join("clear", set()) == [0, 1] and scheduler.join("close", set()) == [0, 1]
    assert _run_all(scheduler, "clear") == [False, True]  # True once nothing is left to wait for
    _run_all(scheduler, "close")
    values = {"clear": _values([0.99, 0.991]), "close": _values([0.89, 0.91])}
    closing = scheduler.judge(SPEC, values, guarantee(SPEC).look_alpha)
    assert [(c, v.decision) for c, v in closing] == [("clear", "pass")]
    assert "clear" in scheduler.closed and list(scheduler.open) == ["close"]
    assert scheduler.extend() == "close" and scheduler.seeds_for("close") == [0, 1, 2, 3]
    assert scheduler.extend() is None
    # Still undecided at the last seed: the race closes, undecided.
    scheduler.allotted["close"] = 6
    _run_all(scheduler, "close")
    values["close"] = _values([0.89, 0.91] * 3)
    (closed,) = scheduler.judge(SPEC, values, guarantee(SPEC).look_alpha)
    assert closed[0] == "close" and closed[1].decision == "undecided" and not scheduler.open


def test_a_config_is_judged_only_when_none_of_its_runs_is_left():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    scheduler.join("a", set())
    scheduler.queued("a", 2)
    scheduler.finished("a")
    assert scheduler.judge(SPEC, {"a": _values([0.99])}, guarantee(SPEC).look_alpha) == []


def test_resumed_races_keep_their_seeds():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing, recorded={"done": 4})
    assert scheduler.join("done", set()) == [0, 1, 2, 3] and "done" in scheduler.closed
    assert scheduler.join("midway", {0, 1, 2}) == [0, 1, 2]  # what an earlier session gave it
    assert list(scheduler.open) == ["midway"]


def test_without_racing_every_config_gets_every_seed_and_closes_unjudged():
    scheduler = SeedScheduler([0, 1, 2], None)
    assert scheduler.join("a", set()) == [0, 1, 2]
    _run_all(scheduler, "a")
    assert scheduler.judge(SPEC, {}, 0.05) == [("a", None)]
