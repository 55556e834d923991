"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations

import errno
import re


class HotlapError(Exception):
    """Bad input or a missing resource: the CLI prints the message on one line and exits 2.

    Raise it for anything the user can fix (a typo in an override, a missing archive, a wrong
    path). Bugs stay ordinary exceptions so they keep their traceback.
    """

    exit_code = 2


class ConfigError(HotlapError):
    """An override or config value that does not validate against a recipe's config."""


class DataError(HotlapError):
    """A dataset that cannot be downloaded, verified, parsed or found."""


class HotlapWarning(UserWarning):
    """Something the user should know that does not stop the work (a quantization that saturates
    a layer's weights): the CLI prints it as one line, `warning: ...`, once per message."""


class RunFailed(Exception):
    """A training run that could not finish (non-finite loss, for one); not a user error.

    `artifacts` are files of the failed run worth keeping (a script's standard output and error):
    the run folder holds them beside the error.
    """

    def __init__(self, message: str, artifacts: dict[str, bytes] | None = None) -> None:
        super().__init__(message)
        self.artifacts = dict(artifacts or {})


# A terminal's escape sequences (colours, cursor moves, title changes) and other control characters:
# a program's standard error or an exception's message, shown in a failure, must not drive the
# terminal that shows it (or write raw into log.txt).
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def is_full_disk(exc: BaseException) -> bool:
    """Whether `exc` is a write that found the disk full (or the quota spent): not a run's failure
    but the machine's, which stops the sweep (every run after it would fail the same way)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class RunPruned(Exception):
    """Raised into a run's training at an epoch, by the engine's pruner (spec `pruning`): the run
    stops there and is recorded `pruned`, not failed."""

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch
