"""Callbacks: live progress and experiment trackers, chosen by name (`callbacks: [...]`)."""

from __future__ import annotations

from hotlap.callbacks import mlflow, progress, wandb  # noqa: F401  (register the callbacks)
from hotlap.callbacks.base import (
    Callback,
    CallbackError,
    Callbacks,
    SweepInfo,
    check_callbacks,
    get_callback,
    list_callbacks,
    register_callback,
)

__all__ = [
    "Callback",
    "CallbackError",
    "Callbacks",
    "SweepInfo",
    "check_callbacks",
    "get_callback",
    "list_callbacks",
    "register_callback",
]
