"""hotlap: find the fastest training configuration that reliably reaches a target accuracy."""

from __future__ import annotations

import importlib
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


def _import_plugin(name: str) -> None:
    """A module name (found on sys.path / PYTHONPATH), or a path to a .py file."""
    if not name.endswith(".py"):
        importlib.import_module(name)
        return
    import sys
    from importlib import util
    from pathlib import Path

    path = Path(name).expanduser()
    if not path.is_file():
        raise ImportError(f"no file {path}", name=name)
    module = f"hotlap_plugin_{path.stem}"
    spec = util.spec_from_file_location(module, path)
    assert spec is not None and spec.loader is not None
    loaded = util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)


def load_plugins() -> list[str]:
    """Import the plugins named in `$HOTLAP_PLUGINS` (comma-separated), which register recipes,
    datasets or executors with the decorators: module names (on PYTHONPATH) or paths to .py files
    (`HOTLAP_PLUGINS=./my_recipe.py`). Returns the names imported."""
    from hotlap.errors import HotlapError

    names = [n.strip() for n in os.environ.get("HOTLAP_PLUGINS", "").split(",") if n.strip()]
    for name in names:
        try:
            _import_plugin(name)
        except ImportError as exc:
            hint = "; is its folder on PYTHONPATH?" if exc.name == name and not name.endswith(".py") else ""
            raise HotlapError(f"HOTLAP_PLUGINS: cannot import {name!r} ({exc}){hint}") from exc
        except Exception as exc:  # the plugin itself raised: one line, its traceback with --debug
            where = ""  # the plugin's own last frame (a SyntaxError's message names its line)
            tb = exc.__traceback__
            while tb is not None and not isinstance(exc, SyntaxError):
                filename = tb.tb_frame.f_code.co_filename
                if not filename.startswith("<frozen"):
                    where = f" at {os.path.basename(filename)}:{tb.tb_lineno}"
                tb = tb.tb_next
            raise HotlapError(
                f"HOTLAP_PLUGINS: plugin {name!r} raised {type(exc).__name__}: {exc}{where} while "
                "importing (run with --debug or HOTLAP_DEBUG=1 for the traceback)"
            ) from exc
    return names
