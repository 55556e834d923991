"""The store's SQL schema: `MIGRATIONS[v]` takes a database from schema version v - 1 to v (the
version lives in `PRAGMA user_version`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DB_NAME", "EXCLUDED", "FINISHED", "MIGRATIONS", "SCHEMA_VERSION"]

DB_NAME = "hotlap.db"
SCHEMA_VERSION = 5
FINISHED = ("done", "failed", "pruned")  # a run's statuses once it has ended (its time is spent)
EXCLUDED = "excluded"  # a race's decision for a config never run (a per-config bound it breaks)
_RUN_COLUMNS_V4 = (
    "id, sweep_id, config_id, seed, fidelity, status, accuracy, tta_accuracy, train_time, eval_time,"
    " total_time, wall_time, metrics, device, host, worker, attempts, started, ended, error, traceback,"
    " stage, metric_values, session"
)
MIGRATIONS: dict[int, Sequence[str]] = {
    1: (
        """CREATE TABLE sweeps (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            recipe TEXT NOT NULL,
            dataset TEXT NOT NULL,
            spec TEXT NOT NULL,
            spec_digest TEXT NOT NULL,
            directory TEXT NOT NULL,
            state TEXT NOT NULL,
            message TEXT,
            trials_asked INTEGER NOT NULL DEFAULT 0,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE configs (
            sweep_id TEXT NOT NULL REFERENCES sweeps(id),
            config_id TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            origin TEXT NOT NULL,
            is_baseline INTEGER NOT NULL DEFAULT 0,
            params TEXT NOT NULL,
            config TEXT NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (sweep_id, config_id)
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            sweep_id TEXT NOT NULL,
            config_id TEXT NOT NULL,
            seed INTEGER NOT NULL,
            fidelity TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            accuracy REAL,
            tta_accuracy REAL,
            train_time REAL,
            eval_time REAL,
            total_time REAL,
            wall_time REAL,
            metrics TEXT,
            device TEXT,
            host TEXT,
            worker TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            started TEXT,
            ended TEXT,
            error TEXT,
            traceback TEXT,
            UNIQUE (sweep_id, config_id, seed, fidelity),
            FOREIGN KEY (sweep_id, config_id) REFERENCES configs(sweep_id, config_id)
        )""",
        "CREATE INDEX runs_by_status ON runs (sweep_id, status)",
    ),
    # v2: a run's stage: `search` (screening, racing, promotion) or `verify` (fresh seeds).
    2: (
        "ALTER TABLE runs ADD COLUMN stage TEXT NOT NULL DEFAULT 'search'",
        # A closed race: the config got its last seeds in that stage, and why it stopped.
        """CREATE TABLE races (
            sweep_id TEXT NOT NULL,
            config_id TEXT NOT NULL,
            fidelity TEXT NOT NULL,
            stage TEXT NOT NULL,
            seeds INTEGER NOT NULL,
            decision TEXT,
            reason TEXT,
            closed TEXT NOT NULL,
            PRIMARY KEY (sweep_id, config_id, fidelity, stage)
        )""",
    ),
    # v3: any metric. A run's metric values live in one JSON column (the five columns of v1 stay,
    # read by nothing, for stores written before); the environment of every driving session is
    # kept, and each run names the session it ran in.
    3: (
        "ALTER TABLE runs ADD COLUMN metric_values TEXT",
        """UPDATE runs SET metric_values = json_object('accuracy', accuracy, 'tta_accuracy', tta_accuracy,
            'train_time', train_time, 'eval_time', eval_time, 'total_time', total_time)
            WHERE status = 'done'""",
        "ALTER TABLE runs ADD COLUMN session INTEGER",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            sweep_id TEXT NOT NULL REFERENCES sweeps(id),
            started TEXT NOT NULL,
            device_name TEXT,
            environment TEXT NOT NULL
        )""",
    ),
    # v4: a new config's ordinal is found by index (counting a sweep's configs per new config
    # made the engine slower as sweeps grew).
    4: ("CREATE INDEX configs_by_ordinal ON configs (sweep_id, ordinal)",),
    # v5: a run stopped by per-epoch pruning is `pruned` (SQLite cannot change a CHECK: the table
    # is rebuilt, its rows and ids as they were).
    5: (
        """CREATE TABLE runs_v5 (
            id INTEGER PRIMARY KEY,
            sweep_id TEXT NOT NULL,
            config_id TEXT NOT NULL,
            seed INTEGER NOT NULL,
            fidelity TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'pruned')),
            accuracy REAL,
            tta_accuracy REAL,
            train_time REAL,
            eval_time REAL,
            total_time REAL,
            wall_time REAL,
            metrics TEXT,
            device TEXT,
            host TEXT,
            worker TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            started TEXT,
            ended TEXT,
            error TEXT,
            traceback TEXT,
            stage TEXT NOT NULL DEFAULT 'search',
            metric_values TEXT,
            session INTEGER,
            UNIQUE (sweep_id, config_id, seed, fidelity),
            FOREIGN KEY (sweep_id, config_id) REFERENCES configs(sweep_id, config_id)
        )""",
        f"INSERT INTO runs_v5 ({_RUN_COLUMNS_V4}) SELECT {_RUN_COLUMNS_V4} FROM runs",
        "DROP TABLE runs",
        "ALTER TABLE runs_v5 RENAME TO runs",
        "CREATE INDEX runs_by_status ON runs (sweep_id, status)",
    ),
}
