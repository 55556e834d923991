"""Running another program for a recipe: no shell, its own process group, its output to files and
line by line to the caller, a deadline, and nothing left behind.

`run_program` starts `argv` in a new session (so that the program and every child it starts can be
signalled as one group), copies its standard output to a file while handing each line to
`on_line` in the caller's thread, and writes its standard error to another file. It returns when
the program has exited and its output is drained. Whatever the program left running in its group
when it exited is killed then (a leftover child holding the output open would otherwise keep the
run from ending). Past the deadline, or on Ctrl-C or any other exception in the caller, the group
gets SIGTERM, then SIGKILL after a grace period. On Linux the program also gets SIGKILL when the
calling process dies (PR_SET_PDEATHSIG); and a watchdog (a small process of its own, holding a pipe
from the caller) kills the program's whole group when the caller dies without saying the run is
over, so that a killed driver leaves none of the program's children running either.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KILL_GRACE", "Finished", "run_program"]

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when a program is stopped


@dataclass(frozen=True)
class Finished:
    """How the program ended: its exit code (negative: the signal that ended it; None: stopped
    at the deadline) and its wall time from start to exit, in seconds."""

    code: int | None
    wall_time: float


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function giving the child SIGKILL when its parent dies (PR_SET_PDEATHSIG),
    resolved before the fork so that the child only makes one system call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return preexec


# The watchdog: waits for the caller's end of its pipe to close; unless the caller wrote "done"
# first (the run ended and its group was dealt with), the caller died: kill the program's group.
WATCHDOG = (
    "import os, signal, sys\n"
    "said = sys.stdin.buffer.read()\n"
    "if said != b'done':\n"
    "    try: os.killpg(int(sys.argv[1]), signal.SIGKILL)\n"
    "    except OSError: pass\n"
)


def _watchdog(group: int) -> subprocess.Popen[bytes] | None:
    """Start the watchdog of process group `group` (None where process groups do not exist)."""
    if not hasattr(os, "killpg"):
        return None
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", WATCHDOG, str(group)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C at the terminal is the caller's to handle, not its
    )


def _release(watchdog: subprocess.Popen[bytes] | None) -> None:
    """Tell the watchdog the run is over (the group was dealt with), and let it exit."""
    if watchdog is None or watchdog.stdin is None:
        return
    with contextlib.suppress(OSError):
        watchdog.stdin.write(b"done")
    with contextlib.suppress(OSError):
        watchdog.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        watchdog.wait(timeout=KILL_GRACE)


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the program's process group, SIGKILL after the grace period (and to whatever
    of the group outlived the program)."""
    _kill_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
    _kill_group(process.pid, signal.SIGKILL)


def _pump(stream: Any, sink: Any, events: queue.Queue[tuple[str, Any]]) -> None:
    """Copy standard output to its file, line by line, and hand each line on; then say "eof"."""
    try:
        for raw in iter(stream.readline, b""):
            sink.write(raw)
            sink.flush()
            events.put(("line", raw.decode(errors="replace")))
    finally:
        events.put(("eof", None))


def _wait(process: subprocess.Popen[bytes], events: queue.Queue[tuple[str, Any]]) -> None:
    """Wait for the program's exit and say when it happened (its wall time ends there)."""
    process.wait()
    events.put(("exit", time.perf_counter()))


def run_program(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str],
    stdout: Path,
    stderr: Path,
    timeout: float | None,
    on_line: Callable[[str], None],
) -> Finished:
    """Run `argv` to its end (or its deadline); OSError where it cannot start."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        begin = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        watchdog = _watchdog(process.pid)
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        threads = [
            threading.Thread(target=_pump, args=(process.stdout, out, events), daemon=True),
            threading.Thread(target=_wait, args=(process, events), daemon=True),
        ]
        for thread in threads:
            thread.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        ended: float | None = None
        drained = False
        try:
            while ended is None or not drained:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    _stop(process)
                    return Finished(None, time.perf_counter() - begin)
                try:
                    kind, value = events.get(timeout=remaining)
                except queue.Empty:
                    continue
                if kind == "line":
                    on_line(value)
                elif kind == "eof":
                    drained = True
                else:  # the program exited: what it left in its group goes too
                    ended = value
                    _kill_group(process.pid, signal.SIGKILL)
        except BaseException:  # Ctrl-C or a failing callback: the program stops too
            _stop(process)
            raise
        finally:
            _release(watchdog)
            for thread in threads:
                thread.join(timeout=KILL_GRACE)
            if process.stdout is not None:
                process.stdout.close()
    assert ended is not None and process.returncode is not None
    return Finished(process.returncode, ended - begin)
