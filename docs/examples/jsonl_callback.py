"""A callback of your own: one JSON line per finished run, for a tracker hotlap does not ship.

`callbacks: [jsonl]` in a spec, or `--callback jsonl`; `$RUNS_JSONL` names the file.
"""

from __future__ import annotations

import json
import os

from hotlap.callbacks import Callback, register_callback


@register_callback("jsonl")
class JsonLines(Callback):
    def __init__(self):
        self.path = os.environ.get("RUNS_JSONL", "runs-tracked.jsonl")

    def sweep_start(self, event, **info):  # event: SweepInfo (the sweep, its spec, the plan)
        self.sweep = event.sweep.id

    def run_end(self, event, **info):  # event: RunEnded (run, outcome, best so far)
        line = {
            "sweep": self.sweep,
            "config": event.run.config_id,
            "seed": event.run.seed,
            "status": event.outcome.status,
            **event.outcome.metrics,
        }
        with open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")
