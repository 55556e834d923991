"""Metrics are data: a name, a unit, a direction, a kind and a scope, registered by name.

A recipe declares the metrics its runs produce (`@recipe(..., metrics=[...])`); the store keeps any
metric name; the spec's objective and target, racing, the report, `export`, `compare` and the plots
take any declared metric and format it by its kind and unit. A stored sweep carries the definitions
of its metrics (`Metric.to_plain`), so it can be reported after its recipe is gone.

    from hotlap.metrics import Metric, register_metric
    register_metric(Metric("energy", unit="J", direction="minimize", kind="cost",
                           description="GPU energy of the training run"))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from hotlap.registry import Registry

__all__ = [
    "KINDS",
    "Metric",
    "get_metric",
    "list_metrics",
    "metric_from_plain",
    "register_metric",
    "resolve_metrics",
]

Direction = Literal["maximize", "minimize"]
Kind = Literal["fraction", "time", "cost", "count", "score"]
Scope = Literal["run", "config"]
KINDS = ("fraction", "time", "cost", "count", "score")


@dataclass(frozen=True)
class Metric:
    """One measured quantity.

    kind: `fraction` (a bounded share such as an accuracy: shown in percent), `time` (seconds),
    `cost` (FLOPs, joules, bytes...: any unit), `count`, `score` (any number on a scale hotlap does
    not know, such as a training script's own metric: shown as it is, never bounded). scope: `run` (measured per run: it varies
    by seed) or `config` (static per config, such as a parameter count).
    """

    name: str
    unit: str = ""
    direction: Direction = "maximize"
    kind: Kind = "fraction"
    scope: Scope = "run"
    description: str = ""
    # The step its values move in (an accuracy on N test images: 1/N), where the recipe knows it;
    # 0: unknown. A spread below a step's rounding error is no measurement.
    resolution: float = 0.0

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"metric name {self.name!r} is not an identifier")
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(f"metric {self.name}: direction is maximize or minimize")
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name}: kind is one of {', '.join(KINDS)}")
        if self.scope not in ("run", "config"):
            raise ValueError(f"metric {self.name}: scope is run or config")

    @property
    def sign(self) -> float:
        """+1 when larger is better: `max(key=sign * value)` picks the best."""
        return 1.0 if self.direction == "maximize" else -1.0

    @property
    def percent(self) -> bool:
        return self.kind == "fraction"

    @property
    def bounds(self) -> tuple[float, float] | None:
        """The range its values live in, which its intervals stay inside: a fraction's 0 to 1, a
        time's 0 up; None where hotlap does not know one."""
        return {"fraction": (0.0, 1.0), "time": (0.0, math.inf)}.get(self.kind)

    @property
    def shown_unit(self) -> str:
        """The unit of `format`'s numbers: % for fractions."""
        return "%" if self.percent else self.unit

    def scaled(self, value: float) -> float:
        """The value in the shown unit (fractions in percent)."""
        return 100 * value if self.percent else value

    def format(self, value: float | None, digits: int | None = None, unit: bool = True) -> str:
        """`94.01%`, `3.830 s`, `1.2e+12 FLOPs`, `42`: by kind; `-` for no value."""
        if value is None:
            return "-"
        if self.percent:
            text = f"{100 * value:.{2 if digits is None else digits}f}"
        elif self.kind == "time":
            text = f"{value:.{3 if digits is None else digits}f}"
        elif self.kind == "count" and float(value).is_integer():
            text = f"{int(value):,}"
        else:
            text = f"{value:.4g}" if digits is None else f"{value:.{digits}f}"
        suffix = self.shown_unit
        if not unit or not suffix:
            return text
        return f"{text}%" if self.percent else f"{text} {suffix}"

    def to_plain(self) -> dict[str, Any]:
        return asdict(self)


def metric_from_plain(data: Mapping[str, Any]) -> Metric:
    return Metric(
        **{
            k: data[k]
            for k in ("name", "unit", "direction", "kind", "scope", "description", "resolution")
            if k in data
        }
    )


METRICS: Registry[Metric] = Registry("metric", cutoff=0.5)
# A run's own fields, beside its metrics in runs.jsonl and the exports: no metric takes one of these
# names (a metric `status` would overwrite the run's status there). `wall_time` is a metric too (the
# script recipe's process wall time); the exports name the run's own `run_wall_time` then.
RUN_FIELD_NAMES = frozenset(
    (
        "config_id",
        "seed",
        "fidelity",
        "stage",
        "status",
        "session",
        "sweep",
        "is_baseline",
        "run_id",
        "history",
        "precision",
        "device",
        "host",
        "started",
        "ended",
        "error",
        "traceback",
        "source_run",
    )
)


def _meaning(metric: Metric) -> tuple[str, str, str, str]:
    return (metric.unit, metric.direction, metric.kind, metric.scope)


def register_metric(metric: Metric) -> Metric:
    """Make `metric` known by name; registering the same definition twice is harmless, and so
    is one that differs only in its description (a plugin declaring `energy` in joules, minimized,
    as hotlap's own: the first description stays). Another unit, direction, kind or scope under a
    known name is refused."""
    if metric.name in RUN_FIELD_NAMES:
        raise ValueError(
            f"metric {metric.name!r} would take the name of a run's own field; name it otherwise"
        )
    known = METRICS.get(metric.name) if metric.name in METRICS else None
    if known is not None:
        if _meaning(known) != _meaning(metric):
            raise ValueError(f"metric {metric.name!r} is registered with another definition")
        return known
    METRICS.register(metric.name, metric)
    return metric


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def list_metrics() -> list[Metric]:
    return METRICS.entries()


def resolve_metrics(declared: Iterable[str | Metric]) -> tuple[Metric, ...]:
    """A recipe's declaration (names of registered metrics or Metric objects) as Metric objects;
    a Metric object given here is registered too."""
    out = []
    for entry in declared:
        metric = register_metric(entry) if isinstance(entry, Metric) else get_metric(entry)
        if any(m.name == metric.name for m in out):
            raise ValueError(f"metric {metric.name!r} is declared twice")
        out.append(metric)
    return tuple(out)


# The metrics of timed classification training (the timing convention is in hotlap.timing).
BUILTIN = (
    Metric("accuracy", "", "maximize", "fraction", description="test accuracy of the final network"),
    Metric(
        "tta_accuracy",
        "",
        "maximize",
        "fraction",
        description="test accuracy with test-time augmentation",
    ),
    Metric("train_time", "s", "minimize", "time", description="timed training, seconds"),
    Metric("eval_time", "s", "minimize", "time", description="timed final evaluation, seconds"),
    Metric("total_time", "s", "minimize", "time", description="train_time + eval_time"),
    Metric("parameters", "", "minimize", "count", "config", "parameters of the network"),
    Metric("wall_time", "s", "minimize", "time", description="wall time of the run's process, seconds"),
)
for _metric in BUILTIN:
    register_metric(_metric)

# The metrics of sweeps stored before metrics were data (store schema < 3): airbench94's five, in
# its declared order (the first is the default objective).
V1_METRICS = ("tta_accuracy", "accuracy", "total_time", "train_time", "eval_time")
