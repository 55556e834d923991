"""Fault injection for the kill-torture tests: `HOTLAP_FAULT=POINT:N` makes this process kill
itself with SIGKILL the Nth time it passes `fault_point(POINT)` (N defaults to 1), so a test can
stop a driver at an exact step, such as between marking a run done and appending its line to
runs.jsonl. Unset (always, outside the tests), a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

__all__ = ["fault_point"]

_passed: dict[str, int] = {}


def fault_point(name: str) -> None:
    """Die here, as a SIGKILL would kill the process, if HOTLAP_FAULT names this point."""
    wanted = os.environ.get("HOTLAP_FAULT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= (int(count) if count.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
