"""Plugins: modules that register recipes, datasets, metrics, strategies, executors, callbacks,
report formats, cost probes or decision rules.

Two ways in, both loaded once per process by `load_plugins()` (the CLI and every Ray worker call it):

- an installed package's entry point in the group `hotlap.plugins`, in its pyproject.toml:
  `[project.entry-points."hotlap.plugins"] my_recipes = "my_package.hotlap_plugin"` (a module,
  imported for its registrations, or `"my_package:register"`, a function called with no arguments);
- `$HOTLAP_PLUGINS`, comma-separated module names (on PYTHONPATH) or paths to .py files.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from importlib import metadata, util
from pathlib import Path

from hotlap.errors import HotlapError

__all__ = ["ENTRY_POINT_GROUP", "load_plugins"]

ENTRY_POINT_GROUP = "hotlap.plugins"
_LOADED: dict[str, None] = {}  # what this process has loaded, in order


def _import_file(name: str) -> None:
    path = Path(name).expanduser()
    if not path.is_file():
        raise ImportError(f"no file {path}", name=name)
    module = f"hotlap_plugin_{path.stem}"
    spec = util.spec_from_file_location(module, path)
    assert spec is not None and spec.loader is not None
    loaded = util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)


def _where(exc: BaseException) -> str:
    """' at file.py:LINE' for the plugin's own last frame (a SyntaxError's message names its line)."""
    where = ""
    tb = exc.__traceback__
    while tb is not None and not isinstance(exc, SyntaxError):
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith("<frozen"):
            where = f" at {os.path.basename(filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _raised(source: str, name: str, exc: BaseException) -> HotlapError:
    return HotlapError(
        f"{source}: plugin {name!r} raised {type(exc).__name__}: {exc}{_where(exc)} while importing "
        "(run with --debug or HOTLAP_DEBUG=1 for the traceback)"
    )


def _load_variable(name: str) -> None:
    try:
        if name.endswith(".py"):
            _import_file(name)
        else:
            importlib.import_module(name)
    except ImportError as exc:
        hint = "; is its folder on PYTHONPATH?" if exc.name == name and not name.endswith(".py") else ""
        raise HotlapError(f"HOTLAP_PLUGINS: cannot import {name!r} ({exc}){hint}") from exc
    except (Exception, SystemExit) as exc:  # the plugin itself raised: one line, its traceback with --debug
        raise _raised("HOTLAP_PLUGINS", name, exc) from exc


def _load_entry_point(entry_point: metadata.EntryPoint) -> None:
    label = f"{entry_point.name} = {entry_point.value}"
    try:
        loaded = entry_point.load()
    except ImportError as exc:
        if exc.name and entry_point.value.split(":")[0].startswith(exc.name):  # the module itself is missing
            raise HotlapError(
                f"entry point {ENTRY_POINT_GROUP}: cannot import {label!r} ({exc}); is its package installed?"
            ) from exc
        raise _raised(f"entry point {ENTRY_POINT_GROUP}", label, exc) from exc
    except (Exception, SystemExit) as exc:
        raise _raised(f"entry point {ENTRY_POINT_GROUP}", label, exc) from exc
    try:
        if callable(loaded) and not isinstance(loaded, types.ModuleType):
            loaded()
    except (Exception, SystemExit) as exc:
        raise _raised(f"entry point {ENTRY_POINT_GROUP}", label, exc) from exc


def entry_points() -> list[metadata.EntryPoint]:
    """The installed packages' entry points in the group `hotlap.plugins`, by name."""
    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value))


def load_plugins() -> list[str]:
    """Load the installed packages' `hotlap.plugins` entry points, then the plugins named in
    `$HOTLAP_PLUGINS`, each once per process. Returns the names loaded by this call (an entry point
    as `name = value`)."""
    loaded = []
    for entry_point in entry_points():
        key = f"{entry_point.name} = {entry_point.value}"
        if key not in _LOADED:
            _load_entry_point(entry_point)
            _LOADED[key] = None
            loaded.append(key)
    for name in [n.strip() for n in os.environ.get("HOTLAP_PLUGINS", "").split(",") if n.strip()]:
        if name not in _LOADED:
            _load_variable(name)
            _LOADED[name] = None
            loaded.append(name)
    return loaded
