"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations


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
