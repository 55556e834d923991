"""What a program run by the script recipe leaves: its JSON report (the last JSON object line of
its standard output, or `$HOTLAP_RUN_DIR/metrics.json`), its declared metrics in that report, the
tail of its standard error as plain text, and the files kept in its run folder."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hotlap.errors import RunFailed, plain_text

__all__ = [
    "OWN_FILES",
    "collect_files",
    "json_object",
    "read_metrics",
    "read_report",
    "scalars",
    "stderr_tail",
]

# hotlap's own files in a run folder: a program's file of the same name is kept as script-NAME.
OWN_FILES = ("config.json", "metrics.json", "stdout.txt", "stderr.txt")


def json_object(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth: not a report
        return None
    return value if isinstance(value, dict) else None


def stderr_tail(path: Path, count: int) -> list[str]:
    """The last `count` non-empty lines of a file, as plain text."""
    if not path.is_file():
        return []
    text = path.read_bytes()[-20_000:].decode(errors="replace")
    lines = (plain_text(line).strip() for line in text.splitlines())
    return [line for line in lines if line][-count:]


def collect_files(folder: Path, run_dir: Path) -> dict[str, bytes]:
    """stdout.txt, stderr.txt and the top-level files the program wrote to its run folder."""
    files = {
        name: (folder / name).read_bytes()
        for name in ("stdout.txt", "stderr.txt")
        if (folder / name).is_file()
    }
    for path in sorted(run_dir.iterdir()) if run_dir.is_dir() else []:
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            name = f"script-{path.name}" if path.name in OWN_FILES else path.name
            files[name] = path.read_bytes()
    return files


def read_report(
    run_dir: Path, last_object: dict[str, Any] | None, last_line: str
) -> tuple[dict[str, Any], str]:
    """The program's report and where it came from (metrics.json first, then standard output)."""
    written = run_dir / "metrics.json"
    if written.is_symlink():  # never followed out of the run's folder
        raise RunFailed("$HOTLAP_RUN_DIR/metrics.json is a symbolic link; write the file itself")
    if written.is_file():
        try:
            value = json.loads(written.read_text(errors="replace"))
        except RecursionError:
            raise RunFailed("$HOTLAP_RUN_DIR/metrics.json is nested too deeply to read") from None
        except ValueError as exc:
            raise RunFailed(f"$HOTLAP_RUN_DIR/metrics.json is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise RunFailed("$HOTLAP_RUN_DIR/metrics.json is not a JSON object")
        return value, "metrics.json"
    if last_object is None:
        shown = last_line.strip()[:120]
        raise RunFailed(
            "printed no JSON object line on standard output and wrote no $HOTLAP_RUN_DIR/metrics.json "
            f"(last line of output: {shown!r})"
            if shown
            else "printed nothing on standard output and wrote no $HOTLAP_RUN_DIR/metrics.json"
        )
    return last_object, "standard output"


def read_metrics(report: Mapping[str, Any], where: str, declared: Sequence[str]) -> dict[str, float]:
    out = {}
    for name in declared:
        if name not in report:
            have = ", ".join(sorted(report)) or "nothing"
            raise RunFailed(f"the program reported no {name} (its {where} has: {have})")
        value = report[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RunFailed(f"the program reported {name} = {value!r}, not a number")
        if not math.isfinite(value):
            raise RunFailed(f"the program reported {name} = {value}, not a finite number")
        out[name] = float(value)
    return out


def scalars(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is None or isinstance(v, bool | int | float | str)}
