"""Ctrl-C that is never lost: the command line's SIGINT handler notes the interrupt before it raises
KeyboardInterrupt, and the engine's loops call `check()`, which raises it again if nothing did.

Python raises KeyboardInterrupt in whatever code runs when the signal lands. When that is a
handler Python calls and whose exceptions it only prints (logging's at-fork handler while the
driver starts a worker, a `__del__`), the interrupt is "ignored" and the sweep would run to its end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["check", "noted", "reset"]

_pending = False  # a Ctrl-C came and no `except KeyboardInterrupt` has taken it yet


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


@contextmanager
def noted() -> Iterator[None]:
    """Within: SIGINT is handled by the noting handler; the one before is put back after. Only in
    the main thread, and a SIGINT that is ignored (a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
        signal.SIG_IGN,
        None,
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    reset()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        reset()


def reset() -> None:
    """Forget a Ctrl-C: it has been taken (where the command stops on it) or a new command starts."""
    global _pending
    _pending = False


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came and was swallowed where it landed."""
    if _pending:
        raise KeyboardInterrupt
