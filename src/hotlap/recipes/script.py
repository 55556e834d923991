"""script: a user's own training program as a recipe, run once per (config, seed).

    recipe: script
    script:
      command: ["{python}", "train.py", "--lr", "{lr}", "--seed", "{seed}"]
      metrics: {val_acc: max, train_time: min}   # what the program reports, with directions
      timeout: 3600                               # seconds per run
    space: {lr: [0.1, 0.05]}

The program needs no change beyond printing its metrics. hotlap runs `command` as a list (never
through a shell) in `cwd` (the spec file's folder by default), with `{key}` replaced by the config's
value of `key`, `{seed}` by the seed, `{python}` by the interpreter running hotlap and `{run_dir}` by
the run's folder. The environment also carries HOTLAP_RUN_DIR, HOTLAP_SEED, HOTLAP_DEVICE and, on a
GPU, CUDA_VISIBLE_DEVICES naming the one the run is placed on.

What a run reports, in order of precedence:
1. `$HOTLAP_RUN_DIR/metrics.json`, a JSON object, where the program writes one;
2. otherwise the last line of standard output that is a JSON object.
Lines of standard output that are JSON objects with an `epoch` key are the run's per-epoch history,
streamed to the callbacks as they appear. Every metric of `metrics` must be in the report as a
finite number, or the run fails naming it.

Times: `wall_time` is the process's wall time, always measured by hotlap. `train_time` is what the
program reports under that name where `metrics` declares it, and the wall time otherwise; the
statistics on time (the default objective beside a target, "faster" claims) use `train_time`.

Standard output and error are kept as stdout.txt and stderr.txt in the run's folder, with the files
the program wrote to HOTLAP_RUN_DIR (its metrics.json as script-metrics.json). A non-zero exit
fails the run with the last lines of standard error as its message; past `timeout` the program is
killed with its children (its process group) and the run fails; Ctrl-C stops it the same way, and
the sweep resumes as usual. Where the driver itself is killed, the program gets SIGKILL too (Linux).
Running the program is hotlap.recipes.program's; this module is what a script config is and how
its report is read.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import string
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hotlap.config import RecipeConfig
from hotlap.errors import ConfigError, RunFailed
from hotlap.io import scratch_folder
from hotlap.metrics import RUN_FIELD_NAMES, Metric, get_metric
from hotlap.recipes.base import EpochCallback, Placement, RunResult, recipe
from hotlap.recipes.program import run_program

# Placeholders that are not config keys, and so names a config cannot take.
RESERVED = ("seed", "python", "run_dir")
STDERR_LINES = 5  # of standard error, in the failure message of a non-zero exit
# hotlap's own files in a run folder: a program's file of the same name is kept as script-NAME.
OWN_FILES = ("config.json", "metrics.json", "stdout.txt", "stderr.txt")

# =============================================================================================
#  The spec's `script:` block, and the config (the block plus the program's own keys)
# =============================================================================================

Direction = Literal["max", "min", "maximize", "minimize"]


class MetricDeclaration(BaseModel):
    """A metric in full: `{direction: max, kind: fraction, unit: "", resolution: 0.0001, ...}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    direction: Direction
    kind: Literal["fraction", "time", "cost", "count", "score"] | None = None
    unit: str | None = None
    description: str = ""
    resolution: float | None = Field(
        None,
        gt=0,
        description="the step its values move in (an accuracy on 10,000 test images: 0.0001); "
        "without it, runs that all report the same value never pass a mean target",
    )


class ScriptSettings(BaseModel):
    """How to run the program and what it reports."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    command: list[str] = Field(min_length=1, description="the program and its arguments")
    metrics: dict[str, Direction | MetricDeclaration] = Field(
        min_length=1, description="metric name -> max/min (or a full declaration)"
    )
    timeout: float | int | None = Field(
        None, gt=0, description="seconds a run may take before it is killed; null: no limit"
    )
    cwd: str | None = Field(None, description="working directory (a spec file's folder by default)")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")

    @field_validator("command")
    @classmethod
    def _placeholders_parse(cls, command: list[str]) -> list[str]:
        for arg in command:
            placeholders(arg)  # raises ValueError on a malformed one
        if not command[0].strip():
            raise ValueError("the command's first element (the program) is empty")
        return command

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, metrics: dict[str, Any]) -> dict[str, Any]:
        for name in metrics:
            if not name.isidentifier():
                raise ValueError(f"metric name {name!r} is not an identifier")
            if name == "wall_time":
                raise ValueError("wall_time is measured by hotlap; the program cannot report it")
            if name in RUN_FIELD_NAMES:
                raise ValueError(
                    f"metric name {name!r} is a run's own field (in runs.jsonl); name it otherwise"
                )
        return metrics


class ScriptConfig(RecipeConfig):
    """The `script:` block and the program's own keys (any scalar: lr, weight_decay, ...)."""

    model_config = ConfigDict(extra="allow")

    script: ScriptSettings = Field(description="how to run the program: command, metrics, timeout, cwd, env")

    @model_validator(mode="after")
    def _own_keys(self) -> ScriptConfig:
        for key, value in (self.model_extra or {}).items():
            if not key.isidentifier():
                raise ValueError(f"config key {key!r} is not an identifier")
            if key in RESERVED:
                raise ValueError(f"config key {key!r} is reserved for the {{{key}}} placeholder")
            if value is not None and not isinstance(value, bool | int | float | str):
                raise ValueError(f"{key}: a script's config values are scalars, not {type(value).__name__}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key}: {value} is not a finite number")
        return self

    def own_values(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def placeholders(arg: str) -> list[str]:
    """The `{name}` fields of one argument (`{lr:.3f}` too); `{{` is a literal brace."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(arg) if name is not None]
    except ValueError as exc:
        raise ValueError(f"command argument {arg!r}: {exc}") from None
    for name in fields:
        if not name.isidentifier():
            raise ValueError(f"command argument {arg!r}: placeholder {{{name}}} is not a key name")
    return fields


def check_keys(config: ScriptConfig, keys: frozenset[str]) -> None:
    """Every placeholder of the command names a key that the sweep's configs have."""
    known = (set(keys) | set(config.own_values()) | set(RESERVED)) - {"script"}
    for arg in config.script.command:
        for name in placeholders(arg):
            if name not in known:
                raise ConfigError(
                    f"script.command: placeholder {{{name}}} is not a config key "
                    f"(keys: {', '.join(sorted(known - set(RESERVED))) or 'none'}; also seed, python, run_dir)"
                )


def declared_metrics(config: ScriptConfig) -> list[Metric]:
    """The program's metrics in declared order (the first is the default objective), then
    train_time where the program does not report it, then wall_time."""
    out = []
    for name, entry in config.script.metrics.items():
        full = entry if isinstance(entry, MetricDeclaration) else MetricDeclaration(direction=entry)
        timed = name.endswith("time")
        kind = full.kind or ("time" if timed else "score")
        unit = full.unit if full.unit is not None else ("s" if kind == "time" else "")
        direction = "maximize" if full.direction.startswith("max") else "minimize"
        description = full.description or f"reported by the program ({full.direction})"
        resolution = full.resolution or 0.0
        out.append(Metric(name, unit, direction, kind, description=description, resolution=resolution))  # type: ignore[arg-type]
    if "train_time" not in config.script.metrics:
        out.append(
            Metric(
                "train_time",
                "s",
                "minimize",
                "time",
                description="wall time of the program (it reports no train_time)",
            )
        )
    out.append(get_metric("wall_time"))
    return out


# =============================================================================================
#  Running the program
# =============================================================================================


def _command(config: ScriptConfig, seed: int, run_dir: Path) -> list[str]:
    values = {
        **config.own_values(),
        "seed": seed,
        "python": sys.executable,
        "run_dir": str(run_dir),
    }
    argv = []
    for arg in config.script.command:
        try:
            argv.append(arg.format_map(values))
        except KeyError as exc:
            raise RunFailed(
                f"script.command: placeholder {{{exc.args[0]}}} is not a key of this config"
            ) from None
        except (ValueError, TypeError) as exc:
            raise RunFailed(f"script.command: argument {arg!r}: {exc}") from None
    return argv


def _environment(config: ScriptConfig, seed: int, run_dir: Path, placement: Placement) -> dict[str, str]:
    env = {**os.environ, **config.script.env}
    env.update({"HOTLAP_RUN_DIR": str(run_dir), "HOTLAP_SEED": str(seed), "PYTHONUNBUFFERED": "1"})
    device = placement.device
    if device.type == "cuda":
        index = device.index or 0
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        env["CUDA_VISIBLE_DEVICES"] = visible[index] if index < len(visible) else str(index)
        env["HOTLAP_DEVICE"] = "cuda"
    else:
        env["HOTLAP_DEVICE"] = device.type
    return env


def _json_object(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth: not a report
        return None
    return value if isinstance(value, dict) else None


# A terminal's escape sequences (colours, cursor moves, title changes) and other control characters:
# a program's standard error quoted in a failure must not drive the terminal that shows it.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def _tail(path: Path, count: int) -> list[str]:
    """The last `count` non-empty lines of a file, as plain text."""
    if not path.is_file():
        return []
    text = path.read_bytes()[-20_000:].decode(errors="replace")
    lines = (_plain(line).strip() for line in text.splitlines())
    return [line for line in lines if line][-count:]


def _collect(folder: Path, run_dir: Path) -> dict[str, bytes]:
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


def _report(run_dir: Path, last_object: dict[str, Any] | None, last_line: str) -> tuple[dict[str, Any], str]:
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


def _metrics(report: Mapping[str, Any], where: str, declared: Sequence[str]) -> dict[str, float]:
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


def _scalars(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is None or isinstance(v, bool | int | float | str)}


def _scratch() -> contextlib.AbstractContextManager[Path]:
    """A run's scratch folder (its run folder and output), removed after it; one a killed driver
    left is removed by the next run."""
    return scratch_folder("hotlap-script-")


@recipe(
    "script",
    config=ScriptConfig,
    build_model=None,
    total_steps=None,
    summary="your own training program, run once per (config, seed); it prints its metrics as JSON",
    metrics=["train_time", "wall_time"],
    uses_data=False,
    declare_metrics=declared_metrics,
    check_keys=check_keys,
)
def train(
    config: ScriptConfig,
    data: Placement,
    seed: int,
    *,
    on_epoch: EpochCallback | None = None,
    keep_weights: bool = True,
) -> RunResult:
    """Run the program once for `seed` and read what it reports."""
    settings = config.script
    with _scratch() as folder:
        run_dir = folder / "run"
        run_dir.mkdir()
        argv = _command(config, seed, run_dir)
        cwd = settings.cwd or os.getcwd()
        if not Path(cwd).is_dir():
            raise RunFailed(f"script.cwd {cwd} is not a folder")
        history: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        last_line = ""

        def on_line(line: str) -> None:
            nonlocal last, last_line
            if line.strip():
                last_line = line
            record = _json_object(line)
            if record is None:
                return
            last = record
            if "epoch" in record:
                entry = _scalars(record)
                history.append(entry)
                if on_epoch is not None:
                    on_epoch(entry)

        try:
            finished = run_program(
                argv,
                cwd=cwd,
                env=_environment(config, seed, run_dir, data),
                stdout=folder / "stdout.txt",
                stderr=folder / "stderr.txt",
                timeout=settings.timeout,
                on_line=on_line,
            )
        except OSError as exc:
            raise RunFailed(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        code, wall = finished.code, finished.wall_time
        files = _collect(folder, run_dir)
        if code is None:
            raise RunFailed(
                f"timed out after {settings.timeout:g} s (script.timeout): killed with its children",
                files,
            )
        if code != 0:
            what = f"exit code {code}"
            if code < 0:
                with contextlib.suppress(ValueError):
                    what = f"killed by {signal.Signals(-code).name}"
            tail = _tail(folder / "stderr.txt", STDERR_LINES)
            raise RunFailed(f"{what}: " + (" / ".join(tail) if tail else "nothing on standard error"), files)
        try:
            report, where = _report(run_dir, last, last_line)
            declared = list(settings.metrics)
            metrics = _metrics(report, where, declared)
        except RunFailed as exc:
            raise RunFailed(str(exc), files) from None
    metrics.setdefault("train_time", wall)
    metrics["wall_time"] = wall
    return RunResult(seed=seed, metrics=metrics, history=history, precision="n/a", artifacts=files)
