"""The crash-safe store: one SQLite database per workdir, every (config, seed, fidelity) once.

Why it does not lock up or lose work:
- WAL journal: readers never block the writer, and a killed process leaves a consistent database
  (a transaction is either in the log whole or not at all).
- Connections run in autocommit mode and every write is a short `BEGIN IMMEDIATE` transaction, so
  a second writer waits on the busy timeout instead of failing with "database is locked" (the
  deferred transactions that Python's sqlite3 opens by default can deadlock on the lock upgrade and
  fail at once).
- A run row moves queued -> running -> done | failed, each move guarded by the state it leaves,
  and the (sweep, config, seed, fidelity) key is unique. Only the driver of a sweep writes its rows.
- synchronous=NORMAL: a commit survives SIGKILL of the process at any moment; only a power cut
  can lose the last commits (FULL would fsync on every commit, a few ms per run).

The schema version lives in `PRAGMA user_version`; `MIGRATIONS[v]` takes a store from v-1 to v.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hotlap.devices import merge_devices
from hotlap.errors import HotlapError
from hotlap.metrics import V1_METRICS
from hotlap.records import (  # re-exported: the store returns them
    RUN_COLUMNS,
    ConfigRecord,
    RunRecord,
    SessionRecord,
    SweepRecord,
    _config,
    _runs,
    _sweep,
)

__all__ = [
    "SCHEMA_VERSION",
    "ConfigRecord",
    "RunRecord",
    "SessionRecord",
    "Store",
    "SweepExists",
    "SweepRecord",
    "export_columns",
    "export_rows",
    "open_store",
    "sweep_columns",
]

DB_NAME = "hotlap.db"
SCHEMA_VERSION = 4
EXCLUDED = "excluded"  # a race's decision for a config never run (a per-config bound it breaks)
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
}


@contextmanager
def without_gc() -> Iterator[None]:
    """Build many small objects (50,000 run records, their statistics) without the cyclic garbage
    collector: it would run full collections that find nothing to free, a third of the time."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class SweepExists(HotlapError):
    """A new sweep's name is already taken (by another process, since the caller looked)."""


def damaged(path: Path | None, exc: sqlite3.DatabaseError) -> str:
    """The one line for a store SQLite cannot read or write (`path` None: the workdir's)."""
    reason = str(exc).rstrip(".")
    where = str(path) if path is not None else f"the workdir's {DB_NAME}"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in reason:
        return f"cannot open the store {where} ({reason}): is its folder writable?"
    return (
        f"{where} is not a readable hotlap store ({reason}); move it aside (or restore a backup) "
        "and run again"
    )


class Store:
    """A workdir's database. Open it with `open_store(workdir)` (or `hotlap.open`)."""

    def __init__(self, workdir: str | os.PathLike[str], *, create: bool = True) -> None:
        self.workdir = Path(workdir)
        self.path = self.workdir / DB_NAME
        if self.workdir.exists() and not self.workdir.is_dir():
            raise HotlapError(
                f"the workdir {self.workdir} is a file, not a folder; check --workdir / HOTLAP_HOME"
            )
        if not self.path.exists():
            if not create:
                raise HotlapError(
                    f"no hotlap store in {self.workdir} (no {DB_NAME}); check --workdir / HOTLAP_HOME"
                )
            try:
                self.workdir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HotlapError(f"cannot create the workdir {self.workdir}: {exc.strerror}") from None
        elif not self.path.is_file():
            raise HotlapError(f"{self.path} is not a hotlap store (not a file); move it aside")
        elif create and not os.access(self.workdir, os.W_OK):
            raise HotlapError(f"the workdir {self.workdir} is not writable; check --workdir / HOTLAP_HOME")
        try:
            self.db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 60000")
            self._wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.db.execute("SELECT count(*) FROM sweeps").fetchone()  # reads the schema's pages
        except sqlite3.DatabaseError as exc:  # a damaged or foreign file, or an unwritable folder
            with contextlib.suppress(Exception):
                self.db.close()
            raise HotlapError(damaged(self.path, exc)) from None

    # --- plumbing ------------------------------------------------------------------------------

    def _wal(self) -> None:
        """WAL mode (a property of the file, kept once set). Switching to it needs the database
        alone, and SQLite does not wait for that: two processes that create one store at once
        would see "database is locked". So the switch is retried for up to a minute."""
        import time

        deadline = time.monotonic() + 60.0
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken with the write lock up front."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        with self.write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HotlapError(
                    f"{self.path} has schema version {version}, newer than this hotlap's "
                    f"{SCHEMA_VERSION}: upgrade hotlap"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sweeps --------------------------------------------------------------------------------

    def create_sweep(
        self,
        *,
        sweep_id: str,
        name: str,
        recipe: str,
        dataset: str,
        spec: dict[str, Any],
        spec_digest: str,
        directory: Path,
    ) -> SweepRecord:
        now = _now()
        try:
            self._insert_sweep(sweep_id, name, recipe, dataset, spec, spec_digest, directory, now)
        except sqlite3.IntegrityError:  # the name (or id) was taken since the caller looked
            raise SweepExists(f"sweep {name!r} ({sweep_id}) exists") from None
        sweep = self.sweep(sweep_id)
        assert sweep is not None
        return sweep

    def _insert_sweep(
        self,
        sweep_id: str,
        name: str,
        recipe: str,
        dataset: str,
        spec: dict[str, Any],
        spec_digest: str,
        directory: Path,
        now: str,
    ) -> None:
        with self.write() as db:
            db.execute(
                "INSERT INTO sweeps (id, name, recipe, dataset, spec, spec_digest, directory, state, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    sweep_id,
                    name,
                    recipe,
                    dataset,
                    json.dumps(spec),
                    spec_digest,
                    str(directory),
                    now,
                    now,
                ),
            )

    def sweep_folder(self, sweep: SweepRecord) -> Path:
        """The folder hotlap writes a sweep's files to (and replaces `best/`, `report/` in), as the
        store names it: inside the workdir, or a folder hotlap made (`hotlap run --out`: it is new,
        empty, or holds the sweep's spec.yaml or its run's config.json). A store that names any other folder was altered,
        and writing there could replace the user's files: refused."""
        folder = sweep.directory
        if self.workdir.resolve() in folder.resolve().parents:
            return folder
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise HotlapError(f"sweep {sweep.id}: its folder {folder} is not a folder hotlap made")
        if not folder.exists() or (folder / "spec.yaml").is_file() or not any(folder.iterdir()):
            return folder
        with contextlib.suppress(OSError, ValueError):  # `hotlap run` writes config.json first
            if json.loads((folder / "config.json").read_text()).get("sweep") == sweep.id:
                return folder
        raise HotlapError(
            f"sweep {sweep.id}: the store names the folder {folder}, outside the workdir, and it is "
            "not a sweep folder (no spec.yaml); hotlap will not write there"
        )

    def sweep(self, key: str) -> SweepRecord | None:
        """A sweep by id or by name."""
        row = self.db.execute("SELECT * FROM sweeps WHERE id = ? OR name = ?", (key, key)).fetchone()
        return _sweep(row) if row else None

    def sweeps(self) -> list[SweepRecord]:
        return [_sweep(r) for r in self.db.execute("SELECT * FROM sweeps ORDER BY created")]

    def update_sweep(self, sweep_id: str, **fields: Any) -> None:
        allowed = {"state", "message", "spec", "trials_asked"}
        assert set(fields) <= allowed, fields
        if "spec" in fields:
            fields["spec"] = json.dumps(fields["spec"])
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self.write() as db:
            db.execute(
                f"UPDATE sweeps SET {assignments}, updated = ? WHERE id = ?",
                (*fields.values(), _now(), sweep_id),
            )

    # --- configs -------------------------------------------------------------------------------

    def add_config(
        self,
        sweep_id: str,
        *,
        config_id: str,
        config_hash: str,
        origin: str,
        is_baseline: bool,
        params: dict[str, Any],
        config: dict[str, Any],
    ) -> ConfigRecord:
        """Insert a config if it is new to the sweep; return the stored record either way."""
        with self.write() as db:
            ordinal = db.execute(  # ordinals are 0, 1, 2...: the next is the largest + 1
                "SELECT COALESCE(MAX(ordinal), -1) + 1 FROM configs WHERE sweep_id = ?", (sweep_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT OR IGNORE INTO configs (sweep_id, config_id, config_hash, ordinal, origin, is_baseline,"
                " params, config, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sweep_id,
                    config_id,
                    config_hash,
                    ordinal,
                    origin,
                    int(is_baseline),
                    json.dumps(params),
                    json.dumps(config),
                    _now(),
                ),
            )
            if is_baseline:
                db.execute(
                    "UPDATE configs SET is_baseline = 1 WHERE sweep_id = ? AND config_id = ?",
                    (sweep_id, config_id),
                )
        row = self.db.execute(
            "SELECT * FROM configs WHERE sweep_id = ? AND config_id = ?", (sweep_id, config_id)
        ).fetchone()
        return _config(row)

    def configs(self, sweep_id: str) -> list[ConfigRecord]:
        rows = self.db.execute("SELECT * FROM configs WHERE sweep_id = ? ORDER BY ordinal", (sweep_id,))
        return [_config(r) for r in rows]

    # --- runs ----------------------------------------------------------------------------------

    def ensure_runs(
        self,
        sweep_id: str,
        config_id: str,
        seeds: Sequence[int],
        fidelity: str,
        stage: str = "search",
    ) -> None:
        """Queue every (config, seed, fidelity) that has no row yet; existing rows are left alone."""
        with self.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO runs (sweep_id, config_id, seed, fidelity, status, stage)"
                " VALUES (?, ?, ?, ?, 'queued', ?)",
                [(sweep_id, config_id, seed, fidelity, stage) for seed in seeds],
            )

    def claim(self, run_id: int, *, worker: str) -> bool:
        """queued -> running; False when the run is not queued any more."""
        with self.write() as db:
            cursor = db.execute(
                "UPDATE runs SET status = 'running', worker = ?, started = ?, attempts = attempts + 1,"
                " error = NULL, traceback = NULL WHERE id = ? AND status = 'queued'",
                (worker, _now(), run_id),
            )
        return cursor.rowcount == 1

    def finish(self, run_id: int, outcome: dict[str, Any], *, session: int | None = None) -> bool:
        """running -> done | failed with the outcome's fields; False when the run was not running."""
        status = outcome["status"]
        assert status in ("done", "failed")
        values = outcome.get("metrics") or {}
        details = {k: outcome[k] for k in ("precision", "history", "source_run") if outcome.get(k)}
        with self.write() as db:
            cursor = db.execute(
                "UPDATE runs SET status = ?, metric_values = ?, wall_time = ?, metrics = ?, device = ?, host = ?,"
                " started = ?, ended = ?, error = ?, traceback = ?, session = ? WHERE id = ? AND status = 'running'",
                (
                    status,
                    json.dumps(values) if values else None,
                    outcome.get("wall_time"),
                    json.dumps(details) if details else None,
                    outcome.get("device"),
                    outcome.get("host"),
                    outcome.get("started"),
                    outcome.get("ended"),
                    outcome.get("error"),
                    outcome.get("traceback"),
                    session,
                    run_id,
                ),
            )
        return cursor.rowcount == 1

    def requeue(self, sweep_id: str, *, statuses: Sequence[str] = ("running",)) -> int:
        """Put runs in `statuses` back in the queue (stale `running` after a kill; `failed` to retry)."""
        marks = ", ".join("?" for _ in statuses)
        with self.write() as db:
            cursor = db.execute(
                f"UPDATE runs SET status = 'queued', worker = NULL WHERE sweep_id = ? AND status IN ({marks})",
                (sweep_id, *statuses),
            )
        return cursor.rowcount

    def requeue_run(self, run_id: int) -> None:
        with self.write() as db:
            db.execute(
                "UPDATE runs SET status = 'queued', worker = NULL WHERE id = ? AND status = 'running'",
                (run_id,),
            )

    def runs(
        self,
        sweep_id: str,
        *,
        config_id: str | None = None,
        status: str | None = None,
        fidelity: str | None = None,
        stage: str | None = None,
        details: bool = True,
    ) -> list[RunRecord]:
        """A sweep's runs in id order. `details=False` leaves out each run's per-epoch history and
        traceback (`details` and `traceback` are None): what the analysis reads, much faster."""
        query, args = "SELECT * FROM runs WHERE sweep_id = ?", [sweep_id]
        filters = (
            ("config_id", config_id),
            ("status", status),
            ("fidelity", fidelity),
            ("stage", stage),
        )
        for column, value in filters:
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        columns = (
            RUN_COLUMNS
            if details
            else RUN_COLUMNS.replace(" metrics,", " NULL,").replace(" traceback,", " NULL,")
        )
        query = query.replace("SELECT *", f"SELECT {columns}", 1)
        cursor = self.db.execute(query + " ORDER BY id", args)
        cursor.row_factory = None  # plain tuples: 50,000 rows read in a fraction of a second
        with without_gc():
            return _runs(cursor.fetchall())

    def record_done(self, sweep_id: str, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert finished runs computed without training (offline evaluation), exactly once each.

        rows: (config_id, seed, metric values, device, host, started, ended, session). Returns the
        rows added.
        """
        before = self.db.total_changes
        with self.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO runs (sweep_id, config_id, seed, fidelity, status, metric_values, device,"
                " host, started, ended, session, attempts) VALUES (?, ?, ?, 'full', 'done', ?, ?, ?, ?, ?, ?, 0)",
                [
                    (sweep_id, config_id, seed, json.dumps(values), device, host, started, ended, session)
                    for config_id, seed, values, device, host, started, ended, session in rows
                ],
            )
        return self.db.total_changes - before

    # --- sessions ------------------------------------------------------------------------------

    def add_session(self, sweep_id: str, device_name: str | None, environment: dict[str, Any]) -> int:
        """Record a session that drives the sweep; returns its id, which its runs carry."""
        with self.write() as db:
            cursor = db.execute(
                "INSERT INTO sessions (sweep_id, started, device_name, environment) VALUES (?, ?, ?, ?)",
                (sweep_id, _now(), device_name, json.dumps(environment)),
            )
        return int(cursor.lastrowid or 0)

    def sessions(self, sweep_id: str) -> list[SessionRecord]:
        rows = self.db.execute(
            "SELECT id, sweep_id, started, device_name, environment FROM sessions WHERE sweep_id = ? ORDER BY id",
            (sweep_id,),
        )
        return [SessionRecord(i, s, t, d, json.loads(e)) for i, s, t, d, e in rows]

    def run_devices(self, sweep_id: str) -> dict[str, int]:
        """Device name -> finished runs on it: more than one key means timings from several devices."""
        rows = self.db.execute(
            "SELECT device, COUNT(*) FROM runs WHERE sweep_id = ? AND status = 'done' AND device IS NOT NULL"
            " GROUP BY device ORDER BY COUNT(*) DESC",
            (sweep_id,),
        )
        return merge_devices({device: n for device, n in rows})

    def close_race(
        self,
        sweep_id: str,
        config_id: str,
        fidelity: str,
        stage: str,
        *,
        seeds: int,
        decision: str | None,
        reason: str | None,
    ) -> None:
        """Record that a config's race ended: it gets no more seeds in this stage, even after a resume."""
        with self.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO races (sweep_id, config_id, fidelity, stage, seeds, decision, reason, closed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sweep_id, config_id, fidelity, stage, seeds, decision, reason, _now()),
            )

    def exclude_config(self, sweep_id: str, config_id: str, fidelity: str, reason: str) -> None:
        """Record that a config is never run: it breaks a per-config bound (known before it runs).
        Kept as a race closed with no seeds, decision `excluded`."""
        self.close_race(sweep_id, config_id, fidelity, "search", seeds=0, decision=EXCLUDED, reason=reason)

    def excluded(self, sweep_id: str) -> dict[str, str]:
        """config_id -> why it was excluded before running (`exclude_config`)."""
        rows = self.db.execute(
            "SELECT config_id, reason FROM races WHERE sweep_id = ? AND stage = 'search' AND decision = ?",
            (sweep_id, EXCLUDED),
        )
        return {config_id: reason or "" for config_id, reason in rows}

    def closed_races(self, sweep_id: str, fidelity: str, stage: str) -> dict[str, int]:
        """config_id -> the seeds it had when its race closed."""
        rows = self.db.execute(
            "SELECT config_id, seeds FROM races WHERE sweep_id = ? AND fidelity = ? AND stage = ?",
            (sweep_id, fidelity, stage),
        )
        return {config_id: seeds for config_id, seeds in rows}

    def race_decisions(self, sweep_id: str, stage: str = "search") -> dict[tuple[str, str], str | None]:
        """(config_id, fidelity) -> the decision its race closed with (pass, fail, undecided)."""
        rows = self.db.execute(
            "SELECT config_id, fidelity, decision FROM races WHERE sweep_id = ? AND stage = ?",
            (sweep_id, stage),
        )
        return {(config_id, fidelity): decision for config_id, fidelity, decision in rows}

    def wall_times(self, recipe: str, dataset: str, *, limit: int = 1000) -> list[tuple[str, float]]:
        """(device, wall time) of the latest finished runs of `recipe` on `dataset`, every sweep."""
        rows = self.db.execute(
            "SELECT runs.device, runs.wall_time FROM runs JOIN sweeps ON sweeps.id = runs.sweep_id"
            " WHERE sweeps.recipe = ? AND sweeps.dataset = ? AND runs.status = 'done' AND runs.wall_time IS NOT NULL"
            " ORDER BY runs.id DESC LIMIT ?",
            (recipe, dataset, limit),
        )
        return [(device or "", float(seconds)) for device, seconds in rows]

    def counts(self, sweep_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM runs WHERE sweep_id = ? GROUP BY status", (sweep_id,)
        )
        counts = {"queued": 0, "running": 0, "done": 0, "failed": 0}
        counts.update({status: n for status, n in rows})
        return counts

    def spent(self, sweep_id: str) -> tuple[int, float]:
        """Finished runs and their summed wall time: what the budget counts."""
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(wall_time), 0) FROM runs WHERE sweep_id = ? AND status IN ('done', 'failed')",
            (sweep_id,),
        ).fetchone()
        return int(row[0]), float(row[1])

    def require(self, key: str) -> SweepRecord:
        """A sweep by id or name, or a one-line error listing what exists."""
        sweep = self.sweep(key)
        if sweep is None:
            known = [s.id for s in self.sweeps()]
            hint = f"known: {', '.join(known[-5:])}" if known else "the store has no sweeps"
            raise HotlapError(f"no sweep {key!r} in {self.workdir} ({hint})")
        return sweep

    def to_pandas(self, key: str):  # type: ignore[no-untyped-def]
        """One row per run of sweep `key` (id or name): the columns of `hotlap export`."""
        import pandas as pd

        sweep = self.require(key)
        swept, metrics = sweep_columns(sweep)
        rows = export_rows(sweep.name, swept, metrics, self.configs(sweep.id), self.runs(sweep.id))
        return pd.DataFrame(rows, columns=export_columns(swept, metrics))


def sweep_columns(sweep: SweepRecord) -> tuple[list[str], list[str]]:
    """The swept keys and the metric names of a stored sweep, read from its stored spec alone (no
    recipe needed)."""
    spec = sweep.spec
    swept = (["variant"] if spec.get("variants") else []) + list(spec.get("space") or {})
    metrics = [m["name"] for m in spec.get("metrics") or []] or list(V1_METRICS)
    return swept, metrics


def export_columns(swept_keys: Sequence[str], metrics: Sequence[str]) -> list[str]:
    return [
        "sweep",
        "config_id",
        "is_baseline",
        *swept_keys,
        "seed",
        "fidelity",
        "stage",
        "status",
        *metrics,
        "wall_time",
        "device",
        "host",
        "started",
        "ended",
        "error",
    ]


def export_rows(
    sweep_name: str,
    swept_keys: Sequence[str],
    metrics: Sequence[str],
    configs: Iterable[ConfigRecord],
    runs: Iterable[RunRecord],
) -> list[dict[str, Any]]:
    """One row per run: sweep, config id, every swept key, seed, fidelity, status, every metric."""
    by_id = {c.config_id: c for c in configs}
    rows = []
    for run in runs:
        config = by_id[run.config_id]
        row: dict[str, Any] = {
            "sweep": sweep_name,
            "config_id": run.config_id,
            "is_baseline": config.is_baseline,
        }
        for key in swept_keys:
            row[key] = config.params.get(key, config.config.get(key))
        row.update({"seed": run.seed, "fidelity": run.fidelity, "stage": run.stage, "status": run.status})
        row.update({metric: run.value(metric) for metric in metrics})
        row.update(
            {
                "wall_time": run.wall_time,
                "device": run.device,
                "host": run.host,
                "started": run.started,
                "ended": run.ended,
                "error": run.error,
            }
        )
        rows.append(row)
    return rows


def default_workdir() -> Path:
    """`$HOTLAP_HOME`, else `./hotlap-runs`."""
    return Path(os.environ.get("HOTLAP_HOME", "hotlap-runs"))


def open_store(workdir: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """The store of `workdir` (default `default_workdir()`)."""
    return Store(workdir if workdir is not None else default_workdir(), create=create)
