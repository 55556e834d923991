"""Checks for decision rules."""

from __future__ import annotations

import math

__all__ = ["check_rule"]


def check_rule(name: str) -> None:
    """Decision rule `name`: clear evidence decides the right way for a maximized and a minimized
    target, bounds are ordered (and the same judged together, `bounds_many`), the per-look level is
    within alpha, its claim and cache key are text, and its gap to the target has the right sign."""
    from hotlap.decisions import judge
    from hotlap.rules import Target, get_rule

    rule = get_rule(name)
    above = [0.95 + 0.001 * (i % 5) for i in range(40)]
    below = [0.80 + 0.001 * (i % 5) for i in range(40)]
    up = Target("accuracy", 0.9, criterion=name, success_rate=0.5)
    down = Target("loss", 0.9, criterion=name, success_rate=0.5, maximize=False)
    assert judge(above, up, 0.05)[0] == "pass", f"{name}: 40 runs well above an at-least target do not pass"
    assert judge(below, up, 0.05)[0] == "fail", f"{name}: 40 runs well below an at-least target do not fail"
    assert judge(below, down, 0.05)[0] == "pass", f"{name}: 40 runs well below an at-most target do not pass"
    assert judge(above, down, 0.05)[0] == "fail", f"{name}: 40 runs well above an at-most target do not fail"
    for values in (above, below, above[:3]):
        low, high = rule.bounds(values, up, 0.05, 0.05)
        assert low <= high or math.isnan(low), f"{name}: lower bound {low} above upper {high}"
    schedule = (5, 10, 15)
    level = rule.look_alpha(0.05, schedule, up)
    assert 0 < level <= 0.05, f"{name}: per-look level {level} outside (0, alpha]"
    assert isinstance(rule.calibration_key(0.05, schedule, up), str)
    claim = rule.describe(up)
    assert isinstance(claim, str) and "accuracy" in claim, f"{name}: its claim {claim!r} names no metric"
    assert rule.gap(above, up) <= 0 < rule.gap(below, up), f"{name}: the gap to the target has the wrong sign"
    # The optional parts: what configs judged together share, the assumption and its check, notes.
    values = {"above": above, "below": below}
    shared = rule.share(values, up)
    if shared is not None:
        decided = {key: judge(v, up, 0.05, shared=shared)[0] for key, v in values.items()}
        assert decided == {"above": "pass", "below": "fail"}, (
            f"{name}: judged with what they share: {decided}"
        )
        low, high = rule.bounds(above, up, 0.05, 0.05, shared=shared)
        assert low <= high, f"{name}: with what they share, lower bound {low} above upper {high}"
    # A report judges every config of a look at once: the same bounds as one by one (a config whose
    # runs all failed has no values).
    each = [above, below, above[:1], below[:2], []]
    kwargs = {} if shared is None else {"shared": shared}
    together = rule.bounds_many(each, up, 0.05, 0.2, shared)
    alone = [rule.bounds(v, up, 0.05, 0.2, **kwargs) for v in each]
    assert together == alone, f"{name}: bounds_many gives {together}, bounds one by one {alone}"
    assert isinstance(rule.assumes, str), f"{name}: assumes is not text"
    doubted = rule.doubts(values, ["above"])
    assert isinstance(doubted, dict) and set(doubted) <= {"above"}, f"{name}: doubts a config not asked about"
    notes = rule.plan_notes(up, level, schedule)
    assert all(isinstance(note, str) for note in notes), f"{name}: plan notes are not text"
