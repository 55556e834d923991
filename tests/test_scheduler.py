"""The seed scheduler on its own: allotments, extensions in join order, closing, resumed races."""

from __future__ import annotations

import toy_recipe  # noqa: F401  (registers the toy recipe the spec names)

from hotlap.analysis.configs import analyze
from hotlap.analysis.judging import guarantee, make_target, planned_look
from hotlap.decisions import judge
from hotlap.engine.queue import RunQueue
from hotlap.engine.scheduler import SeedScheduler
from hotlap.spec import parse_spec
from hotlap.store import ConfigRecord, RunRecord

RAW = {
    "name": "s",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "space": {"x": [0.0, 1.0]},
    "seeds": {"min": 2, "max": 6, "step": 2},
    "objective": {"target": {"metric": "tta_accuracy", "at_least": 0.9}, "minimize": "train_time"},
}
SPEC = parse_spec(RAW)


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
    closing = scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha)
    assert [(c, v.decision) for c, v in closing] == [("clear", "pass")]
    assert "clear" in scheduler.closed and list(scheduler.open) == ["close"]
    assert scheduler.extend() == "close" and scheduler.seeds_for("close") == [0, 1, 2, 3]
    assert scheduler.extend() is None
    # Still undecided at the last seed: the race closes, undecided.
    _run_all(scheduler, "close")
    assert scheduler.judge(SPEC, {"close": _values([0.89, 0.91] * 2)}.get, guarantee(SPEC).look_alpha) == []
    assert scheduler.extend() == "close" and len(scheduler.seeds_for("close")) == 6
    _run_all(scheduler, "close")
    values["close"] = _values([0.89, 0.91] * 3)
    (closed,) = scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha)
    assert closed[0] == "close" and closed[1].decision == "undecided" and not scheduler.open


def test_a_config_is_judged_only_when_none_of_its_runs_is_left():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    scheduler.join("a", set())
    scheduler.queued("a", 2)
    scheduler.finished("a")
    assert scheduler.judge(SPEC, {"a": _values([0.99])}.get, guarantee(SPEC).look_alpha) == []


def test_a_config_with_runs_in_flight_counts_as_it_was_at_its_last_look():
    """With several workers, others are judged while a config's next round is half done: they
    see it as it was at its last planned look, not with a partial round."""
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    for config_id in ("a", "b"):
        scheduler.join(config_id, set())
        _run_all(scheduler, config_id)
    values = {"a": _values([0.89, 0.91]), "b": _values([0.895, 0.905])}
    assert scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha) == []  # both undecided
    assert scheduler.extend() == "a" and scheduler.extend() == "b"
    scheduler.queued("a", 2)
    scheduler.finished("a")  # one of a's two new runs finished, one still in flight
    values["a"] = _values([0.89, 0.91, 0.999])
    _run_all(scheduler, "b")
    values["b"] = _values([0.895, 0.905, 0.9, 0.9])
    scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha)
    assert scheduler.looked["a"]["tta_accuracy"] == [0.89, 0.91]  # its look at 2 seeds
    assert scheduler.looked["b"]["tta_accuracy"] == [0.895, 0.905, 0.9, 0.9]
    scheduler.finished("a")
    values["a"] = _values([0.89, 0.91, 0.999, 0.95])
    scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha)
    assert scheduler.looked["a"]["tta_accuracy"] == [0.89, 0.91, 0.999, 0.95]


def test_resumed_races_keep_their_seeds():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing, recorded={"done": 4})
    assert scheduler.join("done", set()) == [0, 1, 2, 3] and "done" in scheduler.closed
    assert scheduler.join("midway", {0, 1, 2}) == [0, 1, 2]  # what an earlier session gave it
    assert list(scheduler.open) == ["midway"]


def test_without_racing_every_config_gets_every_seed_and_closes_unjudged():
    scheduler = SeedScheduler([0, 1, 2], None)
    assert scheduler.join("a", set()) == [0, 1, 2]
    _run_all(scheduler, "a")
    assert scheduler.judge(SPEC, {}.get, 0.05) == [("a", None)]


def test_configs_given_seeds_together_are_judged_together():
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    scheduler.new_round()
    for config_id in ("a", "b"):
        scheduler.join(config_id, set())
        scheduler.queued(config_id, 2)
    values = {
        "a": _values([0.99, 0.991]),
        "b": {**_values([0.992, 0.993]), "train_time": [2.0, 2.001]},  # times that vary a little
    }
    scheduler.finished("a")
    assert scheduler.finished("a")  # a's look has come, b's not yet: nobody is judged
    assert scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha) == []
    scheduler.finished("b")
    scheduler.finished("b")
    closing = scheduler.judge(SPEC, values.get, guarantee(SPEC).look_alpha)
    reasons = dict((c, v.reason) for c, v in closing)
    assert reasons["a"] == "passes, fastest" and reasons["b"].startswith("slower than a (p ")


def test_planned_look_is_the_last_point_of_the_schedule_whose_seeds_all_finished():
    seeds, schedule = list(range(10)), (2, 4, 6)
    assert planned_look(set(), seeds, schedule) == 0
    assert planned_look({0, 1, 2}, seeds, schedule) == 2  # seed 3 still in flight
    assert planned_look({0, 1, 2, 3, 4, 5}, seeds, schedule) == 6
    assert planned_look({0, 2, 3}, seeds, schedule) == 0  # seed 1 missing: no look yet


def test_the_report_judges_a_config_at_its_last_planned_look_not_a_partial_round():
    """A sweep stopped (or shown by `status`) mid-round: the runs of the unfinished round do not
    count toward the decision, as they did not for racing."""
    spec = parse_spec({**RAW, "seeds": {"min": 5, "max": 10, "step": 5}})
    config = ConfigRecord("s", "c", "c" * 64, 0, "grid", False, {"x": 0.0}, {}, "now")
    look = [0.99, 0.991, 0.992, 0.993, 0.994]
    partial = [0.5, 0.5]  # seeds 5 and 6 done, 7-9 still to run
    runs = [
        RunRecord(
            i,
            "s",
            "c",
            seed,
            "full",
            "done",
            {"tta_accuracy": v, "train_time": 1.0},
            1.0,
            None,
            None,
            None,
            None,
            1,
            None,
            None,
            None,
            None,
        )
        for i, (seed, v) in enumerate(enumerate(look + partial))
    ]
    (report,) = analyze(spec, [config], runs, comparisons=False).configs
    assert report.n == 7  # described on every run it has ...
    target, alpha = make_target(spec), guarantee(spec).look_alpha
    assert report.verdict.decision == "pass"  # ... judged on the five of its look
    assert (report.verdict.low, report.verdict.high) == judge(look, target, alpha, spec.futility_alpha())[1:]


def _run(run_id, config_id, seed):
    return RunRecord(
        run_id,
        "s",
        config_id,
        seed,
        "full",
        "queued",
        {},
        None,
        None,
        None,
        None,
        None,
        0,
        None,
        None,
        None,
        None,
    )


def test_the_run_queue_takes_released_runs_first_then_random_configs_in_seed_order():
    queue = RunQueue("a sweep/1/search")
    queue.add([_run(10 * c + seed, f"c{c}", seed) for c in range(4) for seed in (2, 0, 1)])
    queue.add([_run(0, "c0", 0)])  # already queued: ignored
    queue.add_first([_run(99, "held", 0), _run(98, "held", 1)])
    assert len(queue) == 14 and 99 in queue
    taken = [queue.take() for _ in range(14)]
    assert [r.id for r in taken[:2]] == [99, 98] and 99 not in queue and not len(queue)
    for c in range(4):
        assert [r.seed for r in taken if r.config_id == f"c{c}"] == [0, 1, 2]
    configs = [r.config_id for r in taken[2:]]
    assert configs != sorted(configs)  # not config by config
    again = RunQueue("a sweep/1/search")
    again.add([_run(10 * c + seed, f"c{c}", seed) for c in range(4) for seed in (2, 0, 1)])
    assert [again.take().id for _ in range(12)] == [r.id for r in taken[2:]]  # reproducible


def test_the_verification_queue_takes_both_runs_of_a_seed_back_to_back_in_random_order():
    """Verification pairs the recommendation with the baseline seed by seed: the runs of one seed
    follow each other (the machine's state is shared too), and neither config always goes first."""
    queue = RunQueue("a sweep/1/verify", paired=True)
    queue.add([_run(100 * c + seed, f"c{c}", seed) for c in range(2) for seed in range(30, 0, -1)])
    taken = [queue.take() for _ in range(60)]
    assert [r.seed for r in taken] == [seed for seed in range(1, 31) for _ in range(2)]
    first = [taken[2 * k].config_id for k in range(30)]
    assert 5 < first.count("c0") < 25


def test_the_baseline_is_judged_with_its_first_rivals_and_races_as_long_as_they_do():
    """The baseline joins before the strategy's first configs but is judged with them, never
    alone; passing clearly at its first look, its race stays open while a rival's is, so that it
    has as many seeds as they do (every comparison with it paired) and closes with the last."""
    scheduler = SeedScheduler(list(SPEC.seeds), SPEC.racing)
    scheduler.join("baseline", set(), reference=True)
    scheduler.queued("baseline", 2)
    scheduler.new_round()  # the strategy's first round
    scheduler.join("rival", set())
    assert scheduler.finished("baseline") is False and scheduler.finished("baseline") is True
    clear, close = _values([0.99, 0.991]), _values([0.89, 0.91])
    values = {"baseline": clear, "rival": close}
    level = guarantee(SPEC).look_alpha
    assert scheduler.judge(SPEC, values.get, level) == []  # not alone: its round is the rival's
    _run_all(scheduler, "rival")
    assert scheduler.judge(SPEC, values.get, level) == []  # a clear pass, held while the rival races
    assert scheduler.decisions == {"baseline": "pass", "rival": "undecided"}
    scheduler.new_round()
    assert {scheduler.extend(), scheduler.extend()} == {"baseline", "rival"}
    assert len(scheduler.seeds_for("baseline")) == len(scheduler.seeds_for("rival")) == 4
    _run_all(scheduler, "baseline")
    _run_all(scheduler, "rival")
    values = {"baseline": _values([0.99, 0.991] * 2), "rival": _values([0.5, 0.51, 0.5, 0.52])}
    closing = dict(scheduler.judge(SPEC, values.get, level))  # the rival fails: both close
    assert closing["rival"].decision == "fail" and closing["baseline"].decision == "pass"
    assert not scheduler.open and scheduler.extend() is None
