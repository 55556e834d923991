"""Values that are slow to compute and never change for their key (the calibrated levels of the
decision rules: a fixed random stream makes them the same on every machine), kept as JSON in
`$HOTLAP_CACHE` (default `~/.cache/hotlap`) so that `hotlap status` does not simulate 100,000
races each time. A missing, unreadable or foreign file only means computing again."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from hotlap.io import atomic_write_json

__all__ = ["cache_dir", "remembered"]

_MEMORY: dict[tuple[str, str], float] = {}


def cache_dir() -> Path:
    env = os.environ.get("HOTLAP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hotlap"


def remembered(name: str, key: str, compute: Callable[[], float]) -> float:
    """`compute()` for `key`, from this process, the cache file `<name>.json`, or computed (and
    then stored)."""
    if (name, key) in _MEMORY:
        return _MEMORY[(name, key)]
    path = cache_dir() / f"{name}.json"
    try:
        stored = json.loads(path.read_text())
        known = stored if isinstance(stored, dict) else {}
    except (OSError, ValueError):
        known = {}
    value = known.get(key)
    if not isinstance(value, float):
        value = float(compute())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, {**known, key: value})
        except OSError:  # a read-only home: computed again next time, nothing else changes
            pass
    _MEMORY[(name, key)] = value
    return value
