"""The run rows of the store: queued -> running -> done | failed, each move guarded by the state it
leaves; the queries of a sweep's runs, its counts and what its budget has spent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hotlap.memory import without_gc
from hotlap.records import RUN_COLUMNS, RunRecord, runs_from_rows
from hotlap.store.part import StorePart
from hotlap.store.races import now
from hotlap.store.schema import FINISHED

__all__ = ["Runs"]


class Runs(StorePart):
    """The run rows of `hotlap.store.Store` (a mixin: the store holds the connection, `db`, and
    its write transactions, `write()`)."""

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
                (worker, now(), run_id),
            )
        return cursor.rowcount == 1

    def finish(self, run_id: int, outcome: dict[str, Any], *, session: int | None = None) -> bool:
        """running -> done | failed | pruned with the outcome's fields; False when the run was not running."""
        status = outcome["status"]
        assert status in FINISHED
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

    def drop_queued(self, sweep_id: str, config_id: str, fidelity: str, stage: str) -> int:
        """Delete a config's queued runs of one stage (its config was closed by the pruner: they
        will never run); returns how many."""
        with self.write() as db:
            cursor = db.execute(
                "DELETE FROM runs WHERE sweep_id = ? AND config_id = ? AND fidelity = ? AND stage = ?"
                " AND status = 'queued'",
                (sweep_id, config_id, fidelity, stage),
            )
        return cursor.rowcount

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
            return runs_from_rows(cursor.fetchall())

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
            "SELECT COUNT(*), COALESCE(SUM(wall_time), 0) FROM runs WHERE sweep_id = ? AND status IN ('done', 'failed', 'pruned')",
            (sweep_id,),
        ).fetchone()
        return int(row[0]), float(row[1])
