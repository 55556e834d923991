"""A sweep's session: opening the sweep record, the process lock, the session's environment and
the files a session appends to (log.txt, runs.jsonl).

One process drives a sweep at a time (an exclusive lock on the sweep's folder, released by the OS
even on SIGKILL). Each session's environment (device, versions, git commit) is kept in the store,
never overwritten, and every run names the session it ran in. Timings from two device models are
not pooled silently: resuming on another device is refused unless the user allows it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from hotlap.devices import same_device
from hotlap.errors import HotlapError
from hotlap.io import atomic_write_json, atomic_write_text
from hotlap.spec.fields import SpecError
from hotlap.spec.schema import SweepSpec
from hotlap.spec.validate import stored_spec
from hotlap.store import Store, SweepExists, SweepRecord

__all__ = [
    "SessionFiles",
    "changed_fields",
    "is_locked",
    "open_session",
    "open_sweep",
    "sweep_lock",
]


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def changed_fields(existing: SweepRecord, spec: SweepSpec) -> list[str]:
    """The fields that define a sweep's results (space, recipe, seeds, ...) that `spec` changes."""
    stored = stored_spec(existing.spec)
    return [k for k, v in spec.identity().items() if stored.identity()[k] != v]


def open_sweep(
    store: Store, spec: SweepSpec, *, directory: Path | None = None, sweep_id: str | None = None
) -> tuple[SweepRecord, bool]:
    """The sweep named `spec.name`: created if new, else checked against the stored spec.

    A changed space, recipe, dataset (or any field that defines the results) is refused with the
    names of what changed; budget, device, executor and failure limits may change between sessions.
    """
    existing = store.sweep(spec.name)
    if existing is not None:
        changed = changed_fields(existing, spec)
        if changed:
            raise SpecError(
                f"sweep {spec.name!r} exists ({existing.id}) and its spec changed: {', '.join(changed)}; "
                "restore those fields or give the sweep a new name"
            )
        if spec.to_plain() != existing.spec:
            # The new budget, device or limits are stored by the driver once it holds the sweep's
            # lock (`Engine`): a driver refused by the lock must leave the stored sweep as it was.
            existing = dataclasses.replace(existing, spec=spec.to_plain())
        return existing, False
    sweep_id = sweep_id or f"{spec.name}-{_stamp()}"
    while store.sweep(sweep_id) is not None:  # two sweeps of one name within a second
        sweep_id = f"{spec.name}-{_stamp()}-{os.urandom(2).hex()}"
    directory = directory or store.workdir / "sweeps" / sweep_id
    try:
        sweep = store.create_sweep(
            sweep_id=sweep_id,
            name=spec.name,
            recipe=spec.recipe_label,
            dataset=spec.dataset,
            spec=spec.to_plain(),
            spec_digest=spec.digest(),
            directory=directory,
        )
    except SweepExists:  # another process created it since the check above: continue that one
        return open_sweep(store, spec, directory=directory)
    return sweep, True


def _open_lock(path: Path) -> IO[str]:
    """The lock file, opened for reading and writing without following a link: a `.lock` that is a
    symlink (planted to make hotlap truncate another file) is refused."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if path.is_symlink():
            raise HotlapError(
                f"{path} is a symbolic link; hotlap will not write through it: remove it"
            ) from None
        raise HotlapError(f"cannot open the sweep lock {path}: {exc.strerror}") from None
    return os.fdopen(fd, "r+")


@contextmanager
def sweep_lock(directory: Path, sweep_id: str) -> Iterator[None]:
    """Exclusive, process-lifetime lock on a sweep: the OS drops it when the holder dies."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = _open_lock(directory / ".lock")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise HotlapError(
            f"sweep {sweep_id} is being run by {holder}; wait for it or stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def is_locked(directory: Path) -> bool:
    """Whether a live process drives the sweep in `directory`."""
    path = directory / ".lock"
    if not path.exists() or path.is_symlink():
        return False
    with _open_lock(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def check_device(store: Store, sweep: SweepRecord, device_name: str, allow_change: bool) -> str | None:
    """None, or a sentence saying that this session's device differs from the earlier runs'.

    Raises when it differs and `allow_change` is off: timings of two devices are not comparable."""
    earlier = [d for d in store.run_devices(sweep.id) if not same_device(d, device_name)]
    if not earlier:
        return None
    if not allow_change:
        raise HotlapError(
            f"sweep {sweep.id} ran on {', '.join(earlier)}; this session runs on {device_name}. Timings "
            "from two devices are not comparable: resume on the same device, or pass --allow-device-change "
            "(the report then says that times mix devices)"
        )
    return f"warning: this session runs on {device_name}, earlier runs on {', '.join(earlier)}: times mix devices"


def open_session(
    store: Store,
    sweep: SweepRecord,
    spec: SweepSpec,
    *,
    allow_device_change: bool = False,
    device_name: str | None = None,
) -> tuple[int, str | None]:
    """Record this session's environment (kept, never overwritten) and write the sweep folder's
    spec.yaml and env.json (the latest session's). Returns the session id and a device warning."""
    import yaml

    from hotlap.envinfo import environment, resolve_device_name

    atomic_write_text(sweep.directory / "spec.yaml", yaml.safe_dump(spec.to_plain(), sort_keys=False))
    try:
        device = resolve_device_name(spec.device)
    except HotlapError:
        device = None
    env: dict[str, Any] = environment(device) if device is not None else {}
    name = device_name or env.get("device_name")
    warning = check_device(store, sweep, name, allow_device_change) if name else None
    session = store.add_session(sweep.id, name, env)
    env["session"] = session
    atomic_write_json(sweep.directory / "env.json", env)
    return session, warning


class SessionFiles:
    """Whole lines appended to files of the sweep's folder, kept open for the session."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.handles: dict[str, IO[str]] = {}

    def append(self, name: str, line: str) -> None:
        handle = self.handles.get(name)
        if handle is None:
            handle = self.handles[name] = (self.directory / name).open("a")
        handle.write(line + "\n")
        handle.flush()  # whole lines on disk as they come: a kill loses none that was written

    def log(self, message: str) -> None:
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        self.append("log.txt", f"{stamp} {message}")

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
