"""script: a user's own training program as a recipe, run once per (config, seed).

    recipe: script
    script:
      command: ["{python}", "train.py", "--lr", "{lr}", "--seed", "{seed}"]
      metrics: {val_acc: max, train_time: min}   # what the program reports, with directions

This module is what a script config is (the placeholders, the declared metrics) and how a run's
report is read (metrics.json, else the last JSON line of standard output); running the program is
hotlap.recipes.program's, and what it leaves hotlap.recipes.script_output's. The guide:
docs/how-to/script.md."""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import string
import sys
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hotlap.config import RecipeConfig
from hotlap.errors import ConfigError, HotlapWarning, RunFailed
from hotlap.io import scratch_folder
from hotlap.metrics import RUN_FIELD_NAMES, Metric, get_metric
from hotlap.recipes.base import EpochCallback, Placement, RunResult, recipe
from hotlap.recipes.program import run_program
from hotlap.recipes.script_output import (
    collect_files,
    json_object,
    read_metrics,
    read_report,
    scalars,
    stderr_tail,
)

# Placeholders that are not config keys, and so names a config cannot take.
RESERVED = ("seed", "python", "run_dir")
# Metric names that usually hold a share in [0, 1] (an accuracy, an F1): declared in short form,
# they are read as scores, and the user hears how to declare them a fraction.
SHARE_LIKE = re.compile(r"acc|precision|recall|(^|_)f1|auc|iou|dice", re.IGNORECASE)
STDERR_LINES = 5  # of standard error, in the failure message of a non-zero exit

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

    @field_validator("metrics", mode="before")
    @classmethod
    def _declarations(cls, metrics: Any) -> Any:
        """A metric given in full is read as a declaration, so that its error names its field
        (`metrics.val_acc.resolution: ...`), not the short form it is not."""
        if not isinstance(metrics, dict):
            return metrics
        out = {}
        for name, entry in metrics.items():
            if isinstance(entry, dict):
                try:
                    entry = MetricDeclaration.model_validate(entry)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(part) for part in first["loc"])
                    raise ValueError(f"metric {name}: {where}: {first['msg']}") from None
            out[name] = entry
        return out

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
        if kind == "score" and full.kind is None and SHARE_LIKE.search(name):
            warnings.warn(
                f"script.metrics.{name}: read as a score (shown as it is, intervals unbounded); if it is a "
                f"share in [0, 1], declare it: {name}: {{direction: {full.direction}, kind: fraction}} (shown in %, "
                "intervals kept in [0, 1])",
                HotlapWarning,
                stacklevel=2,
            )
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
    if placement.type == "cuda":  # (read from its name: the driver imports no torch for a script)
        index = placement.index or 0
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        env["CUDA_VISIBLE_DEVICES"] = visible[index] if index < len(visible) else str(index)
        env["HOTLAP_DEVICE"] = "cuda"
    else:
        env["HOTLAP_DEVICE"] = placement.type
    return env


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
            record = json_object(line)
            if record is None:
                return
            last = record
            if "epoch" in record:
                entry = scalars(record)
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
        files = collect_files(folder, run_dir)
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
            tail = stderr_tail(folder / "stderr.txt", STDERR_LINES)
            raise RunFailed(f"{what}: " + (" / ".join(tail) if tail else "nothing on standard error"), files)
        try:
            report, where = read_report(run_dir, last, last_line)
            declared = list(settings.metrics)
            metrics = read_metrics(report, where, declared)
        except RunFailed as exc:
            raise RunFailed(str(exc), files) from None
    metrics.setdefault("train_time", wall)
    metrics["wall_time"] = wall
    return RunResult(seed=seed, metrics=metrics, history=history, precision="n/a", artifacts=files)
