"""The callback interface: what a sweep tells the outside world while it runs.

A callback overrides any of its hooks (each a no-op here): `sweep_start`, `stage`, `run_start`,
`epoch` (each epoch's record, while the run trains), `run_end` (the finished record), `message`
and `sweep_end`. Each hook takes one event object and `**info` (as Ray Tune's callbacks do), so a
field added to an event later never breaks a callback. Register one with
`@register_callback("name")` on its class; a spec names it in `callbacks: [name]`, the command line
with `--callback name`.

A callback that raises is switched off for the rest of the sweep with one warning line: a tracker
that is not installed, has no network or a bad key never fails a run or changes a result.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hotlap.analysis.results import ConfigSummary
from hotlap.errors import HotlapError
from hotlap.executors.base import Outcome
from hotlap.registry import Registry
from hotlap.spec.schema import SweepSpec
from hotlap.store import RunRecord, SweepRecord

__all__ = [
    "CALLBACKS",
    "Callback",
    "CallbackError",
    "Callbacks",
    "EpochEnded",
    "Message",
    "RunEnded",
    "RunStarted",
    "StageStarted",
    "SweepEnded",
    "SweepInfo",
    "check_callbacks",
    "get_callback",
    "list_callbacks",
    "register_callback",
]


class CallbackError(HotlapError):
    """A callback that cannot work (its extra is not installed, say): it is switched off."""


@dataclass(frozen=True)
class SweepInfo:
    """`sweep_start`: the sweep, its spec, the store's folder and how far it is."""

    sweep: SweepRecord
    spec: SweepSpec
    workdir: Path  # the store's folder
    total: int | None  # runs the sweep plans, where known
    finished: int  # runs finished before this session
    # The share of the planned runs that only evaluate a network another run trained (shared
    # training; 0: every run trains); None where not known. The live display's ETA weighs by it.
    evaluations: float | None = None


@dataclass(frozen=True)
class StageStarted:
    """`stage`: a stage begins (search, promote, verify) at a fidelity (full, low)."""

    name: str
    fidelity: str


@dataclass(frozen=True)
class RunStarted:
    """`run_start`: a run was handed to the executor; its swept values and resolved config."""

    run: RunRecord
    params: dict[str, Any]
    config: dict[str, Any]


@dataclass(frozen=True)
class EpochEnded:
    """`epoch`: one epoch's record of a run that is still training."""

    run: RunRecord
    record: dict[str, Any]


@dataclass(frozen=True)
class RunEnded:
    """`run_end`: a run finished (done or failed). `best` is the decision rule's current answer:
    with a target and racing, the best config whose race passed (None while none has); otherwise
    the best mean."""

    run: RunRecord
    outcome: Outcome
    best: ConfigSummary | None


@dataclass(frozen=True)
class Message:
    """`message`: a line the driver logs (a repaired file, a closed race, a warning)."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SweepEnded:
    """`sweep_end`: the engine's SweepResult (state, message, the analysis)."""

    result: Any

    def __getattr__(self, name: str) -> Any:  # a hook written for the result itself reads it
        if name.startswith("__") or name == "result":
            raise AttributeError(name)
        return getattr(self.result, name)


class Callback:
    """Hooks called by the driver, in its process; every one is optional."""

    def sweep_start(self, event: SweepInfo, **info: Any) -> None: ...

    def stage(self, event: StageStarted, **info: Any) -> None: ...

    def run_start(self, event: RunStarted, **info: Any) -> None: ...

    def epoch(self, event: EpochEnded, **info: Any) -> None: ...

    def run_end(self, event: RunEnded, **info: Any) -> None: ...

    def message(self, event: Message, **info: Any) -> None: ...

    def sweep_end(self, event: SweepEnded, **info: Any) -> None: ...


CALLBACKS: Registry[Callable[[], Callback]] = Registry("callback")


def register_callback(name: str) -> Callable[[Callable[[], Callback]], Callable[[], Callback]]:
    """Class decorator: register a Callback (any callable returning one) as `name`."""
    return CALLBACKS.register(name)


def list_callbacks() -> list[str]:
    return CALLBACKS.names()


def check_callbacks(names: Iterable[str]) -> None:
    seen = set()
    for name in names:
        if name not in CALLBACKS:
            raise HotlapError(f"callbacks: {_unknown(name)}")
        if name in seen:
            raise HotlapError(f"callbacks: {name!r} is named twice")
        seen.add(name)


def _unknown(name: str) -> str:
    try:
        CALLBACKS.get(name)
    except HotlapError as exc:
        return str(exc)
    return name


def get_callback(name: str) -> Callback:
    check_callbacks([name])
    return CALLBACKS.get(name)()


@functools.cache
def _legacy(cls: type, hook: str) -> bool:
    """Whether a callback class's hook takes the event's fields one by one (`run_end(self, run,
    outcome, best)`, as hooks did before they took events): more than one positional parameter
    besides self. Read once per class and hook, not once per event."""
    try:
        parameters = inspect.signature(getattr(cls, hook)).parameters.values()
    except (TypeError, ValueError):
        return False
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters) > 2


class Callbacks(Callback):
    """Several callbacks as one. A hook that raises switches its callback off, with one line to
    `warn`; the others, and the sweep, go on."""

    def __init__(self, callbacks: Iterable[tuple[str, Callback]], warn: Callable[[str], None]) -> None:
        self.active = list(callbacks)
        self.warn = warn

    def _call(self, hook: str, event: Any) -> None:
        for entry in list(self.active):
            name, callback = entry
            try:
                method = getattr(callback, hook)
                if _legacy(type(callback), hook):  # an old-style hook: the event's fields as arguments
                    method(*(getattr(event, f.name) for f in fields(event)))
                else:
                    method(event)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                self.active.remove(entry)
                reason = " ".join(str(exc).split()) or exc.__class__.__name__
                self.warn(f"warning: callback {name} switched off after its {hook} failed: {reason}")

    def sweep_start(self, event: SweepInfo, **info: Any) -> None:
        self._call("sweep_start", event)

    def stage(self, event: StageStarted, **info: Any) -> None:
        self._call("stage", event)

    def run_start(self, event: RunStarted, **info: Any) -> None:
        self._call("run_start", event)

    def epoch(self, event: EpochEnded, **info: Any) -> None:
        self._call("epoch", event)

    def run_end(self, event: RunEnded, **info: Any) -> None:
        self._call("run_end", event)

    def message(self, event: Message, **info: Any) -> None:
        self._call("message", event)

    def sweep_end(self, event: SweepEnded, **info: Any) -> None:
        self._call("sweep_end", event)


def require(module: str, extra: str) -> Any:
    """Import a tracker's library, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CallbackError(f"{module} is not installed: pip install 'hotlap[{extra}]'") from None
