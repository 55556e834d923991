"""The configs a sweep proposed, as the store keeps them: each config's swept values and full
resolved config, its ordinal, origin and whether it is the baseline."""

from __future__ import annotations

import json
from typing import Any

from hotlap.memory import without_gc
from hotlap.records import CONFIG_COLUMNS, ConfigRecord, config_from_row, configs_from_rows
from hotlap.store.part import StorePart
from hotlap.store.races import now

__all__ = ["Configs"]


class Configs(StorePart):
    """The configs of `hotlap.store.Store` (a mixin: the store holds the connection, `db`, and its
    write transactions, `write()`)."""

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
        """Insert a config if it is new to the sweep; return the stored record either way (the
        one just inserted without reading it back)."""
        params_text, config_text, created = json.dumps(params), json.dumps(config), now()
        with self.write() as db:
            ordinal = db.execute(  # ordinals are 0, 1, 2...: the next is the largest + 1
                "SELECT COALESCE(MAX(ordinal), -1) + 1 FROM configs WHERE sweep_id = ?", (sweep_id,)
            ).fetchone()[0]
            inserted = db.execute(
                "INSERT OR IGNORE INTO configs (sweep_id, config_id, config_hash, ordinal, origin, is_baseline,"
                " params, config, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sweep_id,
                    config_id,
                    config_hash,
                    ordinal,
                    origin,
                    int(is_baseline),
                    params_text,
                    config_text,
                    created,
                ),
            ).rowcount
            if is_baseline and not inserted:
                db.execute(
                    "UPDATE configs SET is_baseline = 1 WHERE sweep_id = ? AND config_id = ?",
                    (sweep_id, config_id),
                )
        if inserted:  # as a read would give it: the swept values through JSON, the config's text
            return config_from_row(
                {
                    "sweep_id": sweep_id,
                    "config_id": config_id,
                    "config_hash": config_hash,
                    "ordinal": ordinal,
                    "origin": origin,
                    "is_baseline": is_baseline,
                    "params": params_text,
                    "config": config_text,
                    "created": created,
                }
            )
        row = self.db.execute(
            "SELECT * FROM configs WHERE sweep_id = ? AND config_id = ?", (sweep_id, config_id)
        ).fetchone()
        return config_from_row(row)

    def configs(self, sweep_id: str) -> list[ConfigRecord]:
        cursor = self.db.execute(
            f"SELECT {CONFIG_COLUMNS} FROM configs WHERE sweep_id = ? ORDER BY ordinal", (sweep_id,)
        )
        cursor.row_factory = None  # plain tuples
        with without_gc():  # (50,000 records: full collections that free nothing, of torch's objects too)
            return configs_from_rows(cursor.fetchall())

    def config_count(self, sweep_id: str) -> int:
        """How many configs the sweep has, without reading them."""
        return int(
            self.db.execute("SELECT COUNT(*) FROM configs WHERE sweep_id = ?", (sweep_id,)).fetchone()[0]
        )
