"""What the store keeps beside runs: closed races (and configs excluded before running), the
sessions that drove a sweep, and the devices and wall times of finished runs."""

from __future__ import annotations

import json
from typing import Any

from hotlap.devices import merge_devices
from hotlap.records import SessionRecord
from hotlap.store.part import StorePart
from hotlap.store.schema import EXCLUDED

__all__ = ["Races", "now"]


def now() -> str:
    """The time as the store records it: UTC, ISO 8601, milliseconds."""
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Races(StorePart):
    """The races, sessions and device queries of `hotlap.store.Store` (a mixin: the store holds
    the connection, `db`, and its write transactions, `write()`)."""

    def add_session(self, sweep_id: str, device_name: str | None, environment: dict[str, Any]) -> int:
        """Record a session that drives the sweep; returns its id, which its runs carry."""
        with self.write() as db:
            cursor = db.execute(
                "INSERT INTO sessions (sweep_id, started, device_name, environment) VALUES (?, ?, ?, ?)",
                (sweep_id, now(), device_name, json.dumps(environment)),
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
                (sweep_id, config_id, fidelity, stage, seeds, decision, reason, now()),
            )

    def reopen_race(self, sweep_id: str, config_id: str, fidelity: str, stage: str) -> None:
        """Forget that a config's race ended, so that it races on (verification's fall-back: the
        config it was slower than failed on fresh seeds); its next close is recorded anew."""
        with self.write() as db:
            db.execute(
                "DELETE FROM races WHERE sweep_id = ? AND config_id = ? AND fidelity = ? AND stage = ?",
                (sweep_id, config_id, fidelity, stage),
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

    def run_times(
        self, recipe: str, dataset: str, *, limit: int = 1000
    ) -> list[tuple[str, float, str, bool]]:
        """(device, wall time, resolved config JSON, evaluated) of the latest finished
        full-fidelity runs of `recipe` on `dataset`, every sweep; `evaluated`: the run evaluated a
        network another run trained (shared training), so its time is an evaluation's."""
        rows = self.db.execute(
            "SELECT runs.device, runs.wall_time, configs.config,"
            " (CASE WHEN json_valid(runs.metrics) THEN json_extract(runs.metrics, '$.source_run') END) IS NOT NULL"
            " FROM runs JOIN sweeps ON sweeps.id = runs.sweep_id"
            " JOIN configs ON configs.sweep_id = runs.sweep_id AND configs.config_id = runs.config_id"
            " WHERE sweeps.recipe = ? AND sweeps.dataset = ? AND runs.status = 'done'"
            " AND runs.wall_time IS NOT NULL AND runs.fidelity = 'full'"
            " ORDER BY runs.id DESC LIMIT ?",
            (recipe, dataset, limit),
        )
        return [
            (device or "", float(seconds), config, bool(evaluated))
            for device, seconds, config, evaluated in rows
        ]

    def wall_times(self, recipe: str, dataset: str, *, limit: int = 1000) -> list[tuple[str, float]]:
        """(device, wall time) of the latest finished runs of `recipe` on `dataset`, every sweep."""
        rows = self.db.execute(
            "SELECT runs.device, runs.wall_time FROM runs JOIN sweeps ON sweeps.id = runs.sweep_id"
            " WHERE sweeps.recipe = ? AND sweeps.dataset = ? AND runs.status = 'done' AND runs.wall_time IS NOT NULL"
            " ORDER BY runs.id DESC LIMIT ?",
            (recipe, dataset, limit),
        )
        return [(device or "", float(seconds)) for device, seconds in rows]
