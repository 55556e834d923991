"""One registry type for every extension point: register, get (with the closest names), list.

Recipes, datasets, metrics, strategies, executors, callbacks, report formats, cost probes and
decision rules are each a `Registry` of their own kind. Entries come from hotlap itself, from
plugins named in `$HOTLAP_PLUGINS`, and from installed packages that expose a module in the
entry-point group `hotlap.plugins` (see `hotlap.plugins`).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from hotlap.errors import HotlapError

__all__ = ["Registry", "closest"]

T = TypeVar("T")


def closest(name: str, valid: list[str], *, cutoff: float = 0.4) -> str:
    """'closest: a, b' for the names most like `name`, else 'known: ...' (all of them)."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=cutoff)
    return f"closest: {', '.join(close)}" if close else f"known: {', '.join(sorted(valid)) or 'none'}"


class Registry(Generic[T]):
    """Named entries of one kind (`kind` names it in errors: "unknown recipe 'x' (closest: ...)",
    raised as `error`, a HotlapError: one line, exit code 2).

    `register(name, entry)` adds an entry, or as `@registry.register(name)` the decorated object.
    Registering a name twice is an error unless `replace=True` (or `same` says the two entries are
    one: a metric declared again with the same meaning keeps the first).
    """

    def __init__(
        self,
        kind: str,
        *,
        same: Callable[[T, T], bool] | None = None,
        error: type[HotlapError] = HotlapError,
        cutoff: float = 0.4,
    ) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # name -> the module that registers it, imported on first use
        self._same = same
        self._error, self._cutoff = error, cutoff  # what `get` raises, and how close a hint must be

    @overload
    def register(self, name: str, entry: None = None, *, replace: bool = False) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, entry: T, *, replace: bool = False) -> T: ...

    def register(self, name: str, entry: T | None = None, *, replace: bool = False) -> T | Callable[[T], T]:
        if entry is None:
            return lambda decorated: self._add(name, decorated, replace)
        return self._add(name, entry, replace)

    def _add(self, name: str, entry: T, replace: bool) -> T:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} is registered under a non-empty name (got {name!r})")
        self._load(name)  # a lazy entry's own module registers it first, as if imported eagerly
        known = self._entries.get(name)
        if known is not None and not replace:
            if self._same is not None and self._same(known, entry):
                return known
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def lazy(self, name: str, module: str) -> None:
        """Name an entry that importing `module` registers, imported where the entry is first
        wanted: a built-in recipe's module imports torch, which a store-only command or a sweep
        of a script never needs."""
        if name not in self._entries:
            self._lazy[name] = module

    def _load(self, name: str | None = None) -> None:
        """Import the module of the lazy entry `name` (None: of every lazy entry)."""
        for lazy in [name] if name is not None else list(self._lazy):
            module = self._lazy.pop(lazy, None)
            if module is not None:
                importlib.import_module(module)

    def unregister(self, name: str) -> None:
        """Remove `name` (tests and plugins that replace an entry for a while)."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)

    def get(self, name: str) -> T:
        """The entry `name`; a HotlapError naming the closest names where there is none."""
        if isinstance(name, str) and name in self._lazy:
            self._load(name)
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            hint = closest(str(name), self.names(), cutoff=self._cutoff)
            raise self._error(f"unknown {self.kind} {name!r} ({hint})") from None

    def names(self) -> list[str]:
        """Every name, the lazy ones too (nothing imported)."""
        return sorted({*self._entries, *self._lazy})

    def in_order(self) -> list[str]:
        """The names in the order they were registered."""
        self._load()
        return list(self._entries)

    def entries(self) -> list[T]:
        """The entries in name order."""
        self._load()
        return [self._entries[name] for name in self.names()]

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return [(name, self._entries[name]) for name in self.names()]

    def registered(self, name: str) -> bool:
        """Whether an entry was registered under `name` (a lazy one whose module was not imported
        yet: not)."""
        return name in self._entries

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
