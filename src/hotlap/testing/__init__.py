"""The conformance kit: checks that an extension behaves as hotlap needs, shipped in the package
(like `optuna.testing`) so a plugin author runs the same checks hotlap runs on its own entries.

Each check is a plain function that raises AssertionError with the reason: `check_recipe`,
`check_dataset`, `check_metric`, `check_strategy`, `check_executor`, `check_callback`,
`check_format`, `check_rule`, `check_probe`. Engine-level checks run a tiny sweep of the kit's own
cheap recipe (`hotlap.testing.toy`, registered as `kit_toy` when a check needs it). Usage:
docs/extending/conformance.md."""

from __future__ import annotations

from hotlap.testing.executors import check_executor
from hotlap.testing.probes import check_probe
from hotlap.testing.recipes import check_dataset, check_metric, check_recipe
from hotlap.testing.reporting import check_callback, check_format
from hotlap.testing.rules import check_rule
from hotlap.testing.strategies import check_strategy

__all__ = [
    "check_callback",
    "check_dataset",
    "check_executor",
    "check_format",
    "check_metric",
    "check_probe",
    "check_recipe",
    "check_rule",
    "check_strategy",
]
