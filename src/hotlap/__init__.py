"""hotlap: find the fastest training configuration that reliably reaches a target accuracy."""

from __future__ import annotations

import os

__version__ = "0.1.0"

__all__ = ["__version__", "load_plugins", "open"]


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
