"""The callback interface: what a sweep tells the outside world while it runs.

A callback overrides any of five hooks (each a no-op here): `sweep_start`, `run_start`, `epoch`
(each epoch's record, while the run trains), `run_end` (the finished record) and `sweep_end`.
Register one with `@register_callback("name")` on its class; a spec names it in
`callbacks: [name]`, the command line with `--callback name`.

A callback that raises is switched off for the rest of the sweep with one warning line: a tracker
that is not installed, has no network or a bad key never fails a run or changes a result.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotlap.analysis.results import ConfigSummary
from hotlap.errors import HotlapError
from hotlap.executors.base import Outcome
from hotlap.spec.schema import SweepSpec
from hotlap.store import RunRecord, SweepRecord

__all__ = [
    "Callback",
    "CallbackError",
    "Callbacks",
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
    sweep: SweepRecord
    spec: SweepSpec
    workdir: Path  # the store's folder
    total: int | None  # runs the sweep plans, where known
    finished: int  # runs finished before this session


class Callback:
    """Hooks called by the driver, in its process; every one is optional."""

    def sweep_start(self, info: SweepInfo) -> None: ...

    def stage(self, name: str, fidelity: str) -> None: ...

    def run_start(self, run: RunRecord, params: dict[str, Any], config: dict[str, Any]) -> None: ...

    def epoch(self, run: RunRecord, record: dict[str, Any]) -> None: ...

    def run_end(self, run: RunRecord, outcome: Outcome, best: ConfigSummary | None) -> None:
        """A run finished. `best` is the decision rule's current answer: with a target and racing,
        the best config whose race passed (None while none has); otherwise the best mean."""

    def message(self, text: str) -> None: ...

    def sweep_end(self, result: Any) -> None:
        """`result` is the engine's SweepResult: state, message, the analysis."""


_REGISTRY: dict[str, Callable[[], Callback]] = {}


def register_callback(name: str) -> Callable[[Callable[[], Callback]], Callable[[], Callback]]:
    def decorate(factory: Callable[[], Callback]) -> Callable[[], Callback]:
        if name in _REGISTRY:
            raise ValueError(f"callback {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return decorate


def list_callbacks() -> list[str]:
    return sorted(_REGISTRY)


def check_callbacks(names: Iterable[str]) -> None:
    seen = set()
    for name in names:
        if name not in _REGISTRY:
            close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
            hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(list_callbacks())}"
            raise HotlapError(f"callbacks: unknown callback {name!r} ({hint})")
        if name in seen:
            raise HotlapError(f"callbacks: {name!r} is named twice")
        seen.add(name)


def get_callback(name: str) -> Callback:
    check_callbacks([name])
    return _REGISTRY[name]()


class Callbacks(Callback):
    """Several callbacks as one. A hook that raises switches its callback off, with one line to
    `warn`; the others, and the sweep, go on."""

    def __init__(self, callbacks: Iterable[tuple[str, Callback]], warn: Callable[[str], None]) -> None:
        self.active = list(callbacks)
        self.warn = warn

    def _call(self, hook: str, *args: Any) -> None:
        for entry in list(self.active):
            name, callback = entry
            try:
                getattr(callback, hook)(*args)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                self.active.remove(entry)
                reason = " ".join(str(exc).split()) or exc.__class__.__name__
                self.warn(f"warning: callback {name} switched off after its {hook} failed: {reason}")

    def sweep_start(self, info: SweepInfo) -> None:
        self._call("sweep_start", info)

    def stage(self, name: str, fidelity: str) -> None:
        self._call("stage", name, fidelity)

    def run_start(self, run: RunRecord, params: dict[str, Any], config: dict[str, Any]) -> None:
        self._call("run_start", run, params, config)

    def epoch(self, run: RunRecord, record: dict[str, Any]) -> None:
        self._call("epoch", run, record)

    def run_end(self, run: RunRecord, outcome: Outcome, best: ConfigSummary | None) -> None:
        self._call("run_end", run, outcome, best)

    def message(self, text: str) -> None:
        self._call("message", text)

    def sweep_end(self, result: Any) -> None:
        self._call("sweep_end", result)


def require(module: str, extra: str) -> Any:
    """Import a tracker's library, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CallbackError(f"{module} is not installed: pip install 'hotlap[{extra}]'") from None
