"""Many small objects, as hotlap's commands make them: built without the cyclic garbage collector
(`without_gc`), and what a command printed kept to the end of the process rather than freed one
object at a time (`keep_until_exit`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["keep_until_exit", "without_gc"]


@contextmanager
def without_gc() -> Iterator[None]:
    """Build many small objects (50,000 run records, their statistics) without the cyclic garbage
    collector: it would run full collections that find nothing to free, a third of the time.

    On the way out the objects there are go to the collector's permanent generation
    (`gc.freeze()`): else the first allocation after it walks them all in one full collection
    (0.3 s after an analysis of 50,000 configs). They are freed by their reference counts as any
    object is; only a reference cycle among them would stay (records and reports hold none)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.enable()


# What `keep_until_exit` holds: a dict that refers to itself, so that when the interpreter clears
# the modules at exit its count of references never falls to zero.
_KEPT: dict[str, Any] = {}
_KEPT["_kept"] = _KEPT


def keep_until_exit(slot: str, value: Any) -> None:
    """Hold `value` (in `slot`, in place of what the slot held) until the process ends, and then
    leave it to the operating system, which takes a finished process's memory back at once:
    freeing an analysis of 50,000 configs one object at a time took 0.3 s of a report's exit. For
    plain data a command has made (an analysis, a report's rows): their `__del__` never runs. The
    objects join the collector's permanent generation (`gc.freeze()`), which its collection at
    exit leaves alone; a slot's former value is freed as any object."""
    _KEPT[slot] = value
    gc.freeze()
