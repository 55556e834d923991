"""What a command made is left to the process's end: kept objects are never freed one by one, and
a slot's former value is freed as any object."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from hotlap.memory import keep_until_exit, without_gc


class _Noted:
    def __del__(self) -> None:
        pass


_PROGRAM = """
import os
from hotlap.memory import keep_until_exit

class Noted:
    def __init__(self, name):
        self.name = name

    def __del__(self, write=os.write):  # (bound now: the interpreter's exit clears os)
        write(1, f"freed {self.name}\\n".encode())

control = [Noted("control")]
del control  # freed here: what a __del__ writes reaches stdout
keep_until_exit("test", [Noted("kept") for _ in range(3)])
"""


def test_what_is_kept_is_not_freed_at_exit_and_a_replaced_value_is():
    done = subprocess.run([sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # the kept objects are never freed: the operating system takes the memory back
    assert done.stdout.splitlines() == ["freed control"], done.stdout

    first = _Noted()
    gone = weakref.ref(first)
    keep_until_exit("test", first)
    del first
    gc.collect()
    assert gone() is not None
    keep_until_exit("test", _Noted())  # the slot's former value: freed by its reference count
    assert gone() is None


def test_without_gc_restores_the_collector():
    assert gc.isenabled()
    with without_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
