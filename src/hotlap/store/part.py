"""What every part of `hotlap.store.Store` (its runs, races, configs) works with: the store's
connection, `db`, and its write transactions, `write()`."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

__all__ = ["StorePart"]


class StorePart:
    """A part of `hotlap.store.Store` (a mixin: the store holds the connection and transactions)."""

    db: sqlite3.Connection

    def write(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover - the store's
        raise NotImplementedError
