"""Files that are either complete or absent: write to a temporary name, then rename into place."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_directory",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "load_weights",
    "scratch_folder",
    "to_json",
]


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder named for this process (`{prefix}{pid}-{host}-...` in the system's
    temporary folder), removed on leaving. One a killed process of this host left behind (its
    process no longer runs) is removed when the next one is made, so that kills leave no litter
    for long; another host's (a temporary folder shared between containers) is left alone."""
    remove_stale(prefix)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-{_host()}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(prefix: str) -> list[Path]:
    """Remove the `scratch_folder`s of `prefix` whose process no longer runs; returns them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid, _, rest = path.name[len(prefix) :].partition("-")
        ours = rest.startswith(f"{_host()}-")
        if ours and path.is_dir() and not path.is_symlink() and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _host() -> str:
    """This host's name as a file name may hold it."""
    return "".join(c if c.isalnum() or c in "._" else "_" for c in socket.gethostname()) or "host"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _clean(value: Any) -> Any:
    """NaN and inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


_STRICT = json.JSONEncoder(allow_nan=False)  # (json.dumps with an option makes an encoder per call)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON with NaN and inf as null (the C encoder directly where there are none: the usual case;
    one encoder for the rows of a report's 50,000 configs)."""
    try:
        if indent is None:
            return _STRICT.encode(value)
        return json.dumps(value, indent=indent, allow_nan=False, sort_keys=False)
    except ValueError:
        return json.dumps(_clean(value), indent=indent, allow_nan=False, sort_keys=False)


class DuplicateKeyError(ValueError):
    """A YAML mapping that gives one key twice (YAML would keep the last one silently)."""


class YamlTooLarge(ValueError):
    """A YAML document nested too deeply, or whose aliases expand it past MAX_YAML_VALUES."""


MAX_YAML_VALUES = 1_000_000  # values a document may expand to, its aliases followed


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` that refuses a key given twice in one mapping: `lr: 1` then `lr: 2` is a
    mistake, not an override (DuplicateKeyError, naming the key and its line); and a document
    nested past Python's recursion or whose aliases expand it past MAX_YAML_VALUES (a "billion
    laughs": YamlTooLarge), before anything walks it."""
    import yaml

    class _UniqueKeys(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                hashable = key if not isinstance(key, list | dict) else repr(key)
                if hashable in seen:
                    line = key_node.start_mark.line + 1
                    raise DuplicateKeyError(f"key {key!r} is given twice (line {line})")
                seen.add(hashable)
            return super().construct_mapping(node, deep=deep)

    loader = _UniqueKeys(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded(node, {}) > MAX_YAML_VALUES:
            raise YamlTooLarge(
                f"its aliases expand it to more than {MAX_YAML_VALUES:,} values; write the values out"
            )
        return loader.construct_document(node)
    except RecursionError:
        raise YamlTooLarge("it is nested too deeply to read") from None
    finally:
        loader.dispose()


def _expanded(node: Any, sizes: dict[int, int]) -> int:
    """How many values a YAML node stands for, each alias followed (counted once per node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    children = node.value if isinstance(node.value, list) else []
    total = 1
    for child in children:
        for part in child if isinstance(child, tuple) else (child,):
            total += _expanded(part, sizes)
            if total > MAX_YAML_VALUES:
                break
    sizes[id(node)] = total
    return total


def folder_problem(path: Path) -> str | None:
    """Why a folder cannot be created (or written) at `path`, or None where it can. Checked before
    any work, so a run never stops at its first write with an OSError."""
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    if not existing.is_dir():
        return f"{existing} is a file, so no folder can be made at {path}"
    if not os.access(existing, os.W_OK):
        return f"{existing} is not writable"
    return None


def _read_umask() -> int:
    """The process's umask (read by setting it, so set straight back: once, at import, before any
    thread could create a file meanwhile)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK  # what open() would give a new file
FOLDER_MODE = 0o777 & ~UMASK


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call write(handle) on a temporary file next to `path`, fsync, then rename it to `path`.
    The file gets the permissions any other file would (0666 less the umask), not mkstemp's 0600:
    reports and specs are meant to be shared."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode()))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    atomic_write_text(path, to_json(value, indent=2) + "\n")


# Folders atomic_directory made or found in this process: a run's folder is then one mkdir and one
# rename (a new config's, two mkdirs: never a failed one first)
_PARENTS: set[Path] = set()


def _fresh_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder `<parent>/<prefix><random>` with a folder's usual permissions: one mkdir
    (mkdtemp's, then a chmod from its 0700, cost two system calls where one does)."""
    while True:
        tmp = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(tmp, 0o777)  # less the umask, as any folder
            return tmp
        except FileExistsError:  # 2^-48 per try
            continue


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `target`; when the block ends, it replaces `target`.

    A folder that exists is therefore either the old one whole or the new one whole; a failure in
    the block leaves `target` as it was and removes the temporary folder. Where `target`'s parent
    exists and `target` does not (a run's folder), that is one mkdir and one rename.
    """
    target = Path(target)
    prefix = f".{target.name}."
    if target.parent not in _PARENTS:  # new to this process (a new config's folder): made first
        target.parent.mkdir(parents=True, exist_ok=True)
        _PARENTS.add(target.parent)
    try:
        tmp = _fresh_folder(target.parent, prefix)
    except FileNotFoundError:  # removed since: made again
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _fresh_folder(target.parent, prefix)
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError:  # target is a folder with files in it (a rerun): the old one goes first
            if not target.is_dir():
                raise
            shutil.rmtree(target)
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_weights(path: str | os.PathLike[str]) -> Any:
    """A checkpoint's contents, read safely (`torch.load(weights_only=True)`: tensors and plain
    containers, never code). Raises ValueError with one sentence on a file that is not one: torch's
    own message is several paragraphs, and it warns about pickle protocols on the way."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Detected pickle protocol 4 ..."
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated file, a pickle with code in it, not a torch file at all
        text = " ".join(str(exc).split())
        refused = text.partition("Unsupported global: GLOBAL ")[2].split(" ")[0]
        if refused:
            raise ValueError(
                f"it holds a pickled object ({refused}) that could run code on load; only tensors are read"
            ) from None
        detail = text.partition("WeightsUnpickler error: ")[2].split(" Check the documentation")[0]
        if detail.strip():  # refused by the safe loader for another reason
            raise ValueError(f"the safe loader refused it ({detail.strip().rstrip('.')})") from None
        sentence = text.split(". ")[0].rstrip(".") if text else exc.__class__.__name__
        if len(sentence) > 200:
            sentence = sentence[:200].rsplit(" ", 1)[0] + " ..."
        raise ValueError(sentence) from None
