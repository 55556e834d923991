"""The crash-safe store: one SQLite database per workdir, every (config, seed, fidelity) once.

`database` (the Store: sweeps, transactions), `configs`, `runs`, `races` (closed races, exclusions,
sessions), `schema` (the SQL and its migrations), `exports` (runs as rows).
"""

from __future__ import annotations

from hotlap.records import ConfigRecord, RunRecord, SessionRecord, SweepRecord
from hotlap.store.database import Store, SweepExists, damaged, default_workdir, open_store, without_gc
from hotlap.store.exports import export_columns, export_rows, sweep_columns
from hotlap.store.schema import DB_NAME, EXCLUDED, FINISHED, SCHEMA_VERSION

__all__ = [
    "DB_NAME",
    "EXCLUDED",
    "FINISHED",
    "SCHEMA_VERSION",
    "ConfigRecord",
    "RunRecord",
    "SessionRecord",
    "Store",
    "SweepExists",
    "SweepRecord",
    "damaged",
    "default_workdir",
    "export_columns",
    "export_rows",
    "open_store",
    "sweep_columns",
    "without_gc",
]
