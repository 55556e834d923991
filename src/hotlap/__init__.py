"""hotlap: find the fastest training configuration that reliably reaches a target accuracy."""

from __future__ import annotations

import os
from typing import Any

__version__ = "0.1.0"

# The public API, imported on first use (`import hotlap` imports no torch, pandas or optuna).
_LAZY = {
    "load_spec": "hotlap.api",
    "plan_sweep": "hotlap.api",
    "run_sweep": "hotlap.api",
    "resume_sweep": "hotlap.api",
    "sweep_status": "hotlap.api",
    "load_report": "hotlap.api",
    "Report": "hotlap.api",
    "SweepStatus": "hotlap.api",
    "Registry": "hotlap.registry",
    "Metric": "hotlap.metrics",
    "register_metric": "hotlap.metrics",
    "list_metrics": "hotlap.metrics",
    "RecipeConfig": "hotlap.config",
    "Recipe": "hotlap.recipes",
    "RunResult": "hotlap.recipes",
    "recipe": "hotlap.recipes",
    "list_recipes": "hotlap.recipes",
    "register_dataset": "hotlap.data",
    "list_datasets": "hotlap.data",
    "Strategy": "hotlap.strategies",
    "Proposal": "hotlap.strategies",
    "register_strategy": "hotlap.strategies",
    "register_sampler": "hotlap.strategies",
    "list_strategies": "hotlap.strategies",
    "Executor": "hotlap.executors",
    "register_executor": "hotlap.executors",
    "list_executors": "hotlap.executors",
    "Callback": "hotlap.callbacks",
    "register_callback": "hotlap.callbacks",
    "list_callbacks": "hotlap.callbacks",
    "register_format": "hotlap.report.formats",
    "list_formats": "hotlap.report.formats",
}

__all__ = ["__version__", "load_plugins", "open", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hotlap' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def open(workdir: str | os.PathLike[str] | None = None):
    """The store of `workdir` (default `$HOTLAP_HOME`, else `./hotlap-runs`): sweeps, configs, runs.

    >>> store = hotlap.open("hotlap-runs")
    >>> sweep = store.sweeps()[-1]
    >>> store.to_pandas(sweep.id)   # one row per run
    """
    from hotlap.store import open_store

    return open_store(workdir, create=False)


def load_plugins() -> list[str]:
    """Load the plugins: installed packages' `hotlap.plugins` entry points and `$HOTLAP_PLUGINS`
    (see `hotlap.plugins`)."""
    from hotlap.plugins import load_plugins as load

    return load()
