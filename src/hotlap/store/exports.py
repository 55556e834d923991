"""A sweep's runs as rows for `hotlap export` and `Store.to_pandas`: one row per run, its swept
values and metrics beside the run's own fields, and the rows as CSV or JSON text (the standard
library's writers: an export needs no pandas)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from hotlap.metrics import V1_METRICS
from hotlap.records import ConfigRecord, RunRecord, SweepRecord

__all__ = ["export_columns", "export_rows", "export_text", "sweep_columns"]


def sweep_columns(sweep: SweepRecord) -> tuple[list[str], list[str]]:
    """The swept keys and the metric names of a stored sweep, read from its stored spec alone (no
    recipe needed)."""
    spec = sweep.spec
    swept = (["variant"] if spec.get("variants") else []) + list(spec.get("space") or {})
    metrics = [m["name"] for m in spec.get("metrics") or []] or list(V1_METRICS)
    return swept, metrics


# The run's own columns around its swept keys and metrics. One whose name a metric or a swept key
# takes (a script's program reports `wall_time` too) is exported as `run_<name>`: never two columns
# of one name, never a metric overwritten.
_LEADING = ("sweep", "config_id", "is_baseline")
_KEYS = ("seed", "fidelity", "stage", "status")
_TRAILING = ("wall_time", "device", "host", "started", "ended", "error")


def _own(name: str, taken: set[str]) -> str:
    return f"run_{name}" if name in taken else name


def export_columns(swept_keys: Sequence[str], metrics: Sequence[str]) -> list[str]:
    taken = {*swept_keys, *metrics}
    return [
        *(_own(c, taken) for c in _LEADING),
        *swept_keys,
        *(_own(c, taken) for c in _KEYS),
        *metrics,
        *(_own(c, taken) for c in _TRAILING),
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
    names = export_columns(swept_keys, metrics)  # each row's values below, in this order
    rows = []
    for run in runs:
        config, values = by_id[run.config_id], run.values
        row = (
            *(sweep_name, run.config_id, config.is_baseline),  # _LEADING
            *[config.value(key) for key in swept_keys],
            *(run.seed, run.fidelity, run.stage, run.status),  # _KEYS
            *[values.get(metric) for metric in metrics],
            *(run.wall_time, run.device, run.host, run.started, run.ended, run.error),  # _TRAILING
        )
        rows.append(dict(zip(names, row, strict=True)))
    return rows


def _plain(value: Any) -> Any:
    """A value as JSON holds it: a NaN or an infinity is null (as pandas writes them)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def export_text(columns: Sequence[str], rows: Sequence[dict[str, Any]], format: str) -> str:
    """The rows as CSV (a header, then one line per run; a missing value empty) or as a JSON list
    of records (two-space indented, missing and non-finite values null, floats in full)."""
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row.get(c) for c in columns] for row in rows)
        return out.getvalue()
    records = [{c: _plain(row.get(c)) for c in columns} for row in rows]
    return json.dumps(records, indent=2) + "\n"
