"""What every part of `hotlap.store.Store` (its runs, races, configs) works with: the store's
connection, `db`, its write transactions, `write()`, and reading many records without the cyclic
garbage collector, `without_gc()`."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

__all__ = ["StorePart", "without_gc"]


class StorePart:
    """A part of `hotlap.store.Store` (a mixin: the store holds the connection and transactions)."""

    db: sqlite3.Connection

    def write(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover - the store's
        raise NotImplementedError


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
