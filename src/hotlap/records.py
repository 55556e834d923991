"""The store's immutable records (a sweep, a config, a run, a session) and how rows become them.

Records are plain frozen dataclasses: what the analysis, reports and callbacks read. The database
and its writes are `hotlap.store`; this module is only the shape of what it returns.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from hotlap.errors import HotlapError

__all__ = [
    "CONFIG_COLUMNS",
    "CONFIG_FIELDS",
    "RUN_COLUMNS",
    "RUN_FIELDS",
    "ConfigRecord",
    "RunRecord",
    "SessionRecord",
    "SweepRecord",
    "config_from_row",
    "configs_from_rows",
    "runs_from_rows",
    "sweep_from_row",
]


@dataclass(frozen=True)
class SweepRecord:
    id: str
    name: str
    recipe: str
    dataset: str
    spec: dict[str, Any]
    spec_digest: str
    directory: Path
    state: str  # running, done, stopped, failed
    message: str | None
    trials_asked: int
    created: str
    updated: str


@dataclass(frozen=True)
class ConfigRecord:
    sweep_id: str
    config_id: str
    config_hash: str
    ordinal: int
    origin: str  # baseline, grid, brute, random, tpe, nsga2, run
    is_baseline: bool
    params: dict[str, Any]  # the swept keys' values
    stored_config: dict[str, Any] | str  # the resolved config, or its JSON as stored: see `config`
    created: str

    @cached_property
    def config(self) -> dict[str, Any]:
        """The fully resolved recipe config, parsed from the store where first read (`status` and
        the analysis of 50,000 configs never read it)."""
        if not isinstance(self.stored_config, str):
            return self.stored_config
        where = f"config {self.config_id} (sweep {self.sweep_id})"
        parsed: dict[str, Any] = _parsed(self.stored_config, f"resolved config of {where}")
        return parsed

    def value(self, key: str) -> Any:
        """A swept key's value: its own where it was swept, else its resolved config's (read only
        then)."""
        return self.params[key] if key in self.params else self.config.get(key)


@dataclass(frozen=True)
class RunRecord:
    """One (config, seed, fidelity) of a sweep; immutable once read."""

    id: int
    sweep_id: str
    config_id: str
    seed: int
    fidelity: str
    status: str
    values: dict[str, float]  # metric -> value (done runs)
    wall_time: float | None
    details: dict[str, Any] | None  # precision, per-epoch history
    device: str | None
    host: str | None
    worker: str | None
    attempts: int
    started: str | None
    ended: str | None
    error: str | None
    traceback: str | None
    stage: str = "search"
    session: int | None = None

    def value(self, metric: str) -> float | None:
        return self.values.get(metric)


@dataclass(frozen=True)
class SessionRecord:
    """One process that drove a sweep: where it ran."""

    id: int
    sweep_id: str
    started: str
    device_name: str | None
    environment: dict[str, Any]


RUN_COLUMNS = (
    "id, sweep_id, config_id, seed, fidelity, status, metric_values, wall_time, metrics, device, host,"
    " worker, attempts, started, ended, error, traceback, stage, session"
)


RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))  # in the order of RUN_COLUMNS


def _parsed(text: str | None, what: str) -> Any:
    """A JSON column of the store; a damaged one is one line naming it (never a traceback)."""
    try:
        return json.loads(text) if text is not None else None
    except (ValueError, RecursionError) as exc:
        raise HotlapError(
            f"the store's {what} is not valid JSON ({str(exc).splitlines()[0][:80]}): the store was damaged "
            "or altered; restore a backup of its hotlap.db"
        ) from None


def sweep_from_row(row: sqlite3.Row) -> SweepRecord:
    data = dict(row)
    data["spec"] = _parsed(data["spec"], f"spec of sweep {data.get('id')}")
    data["directory"] = Path(data["directory"])
    return SweepRecord(**data)


_CONFIG_ID = re.compile(r"^[0-9A-Za-z_][0-9A-Za-z_-]{0,63}$")  # a SHA-256 prefix; never `..` or a `/`


def config_from_row(row: sqlite3.Row | dict[str, Any]) -> ConfigRecord:
    data = dict(row)
    if not _CONFIG_ID.match(str(data["config_id"])):  # it names folders: never a path
        raise HotlapError(
            f"the store holds config id {data['config_id']!r} (sweep {data['sweep_id']}), which is no "
            "config id: the store was altered; hotlap will not use it in a path"
        )
    where = f"config {data['config_id']} (sweep {data['sweep_id']})"
    data["params"] = _parsed(data["params"], f"swept values of {where}")
    data["stored_config"] = data.pop("config")  # parsed where it is read
    data["is_baseline"] = bool(data["is_baseline"])
    return ConfigRecord(**data)


CONFIG_COLUMNS = "sweep_id, config_id, config_hash, ordinal, origin, is_baseline, params, config, created"
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(ConfigRecord))  # in the order of CONFIG_COLUMNS


def configs_from_rows(rows: list[tuple[Any, ...]]) -> list[ConfigRecord]:
    """Config records of `CONFIG_COLUMNS` rows: the swept values parsed in one call for all the
    rows, each resolved config where it is first read (`ConfigRecord.config`)."""
    for row in rows:
        if not _CONFIG_ID.match(str(row[1])):  # it names folders: never a path
            config_from_row(dict(zip(CONFIG_FIELDS, row, strict=True)))  # (raises, naming it)
    try:
        params = json.loads("[" + ",".join(row[6] for row in rows) + "]")
    except (TypeError, ValueError, RecursionError):  # name the damaged row
        params = [_parsed(row[6], f"swept values of config {row[1]} (sweep {row[0]})") for row in rows]
    records = []
    new = object.__new__
    for row, swept in zip(rows, params, strict=True):
        record = new(ConfigRecord)
        record.__dict__.update(zip(CONFIG_FIELDS, (*row[:5], bool(row[5]), swept, *row[7:]), strict=True))
        records.append(record)
    return records


def runs_from_rows(rows: list[tuple[Any, ...]]) -> list[RunRecord]:
    """Run records of `RUN_COLUMNS` rows. Each JSON column is parsed in one call for all the rows
    (one array), which reads 50,000 runs several times faster than a parse per row."""

    def column(index: int) -> list[Any]:
        try:
            return json.loads("[" + ",".join(row[index] or "null" for row in rows) + "]")
        except ValueError:  # name the damaged row
            return [_parsed(row[index], f"run {row[0]} (sweep {row[1]})") for row in rows]

    values, details = column(6), column(8)
    records = []
    new = object.__new__  # a frozen dataclass's __init__ sets 19 fields one by one: 2x slower
    for row, metric_values, run_details in zip(rows, values, details, strict=True):
        if not metric_values:
            metric_values = {}
        elif None in metric_values.values():  # a metric the run did not measure
            metric_values = {k: v for k, v in metric_values.items() if v is not None}
        record = new(RunRecord)
        record.__dict__.update(
            zip(RUN_FIELDS, (*row[:6], metric_values, row[7], run_details, *row[9:]), strict=True)
        )
        records.append(record)
    return records
