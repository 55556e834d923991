"""A decision rule of your own: judged by its worst run. A config passes only when every one of its
runs reaches the threshold (at least 3 runs), and fails as soon as one misses it.

`criterion: worst_run` in a spec's target; it then decides racing, verification and the report.
"""

from __future__ import annotations

import math

from hotlap.rules import DecisionRule, register_rule


@register_rule("worst_run")
class WorstRun(DecisionRule):
    assumes = ""  # nothing beyond independent runs: the report states no assumption

    def bounds(self, values, target, alpha, futility):
        if not values:  # a config whose runs all failed: nothing known
            return -math.inf, math.inf
        worst = min(values) if target.maximize else max(values)
        if not target.maximize:
            return worst, (worst if len(values) >= 3 else math.inf)
        return (worst if len(values) >= 3 else -math.inf), worst

    def threshold(self, target):
        return target.threshold

    def describe(self, target):
        return f"every {target.metric} {target.relation()} {target.shown_threshold()}"
