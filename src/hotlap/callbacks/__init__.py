"""Callbacks: live progress and experiment trackers, chosen by name (`callbacks: [...]`)."""

from __future__ import annotations

from hotlap.callbacks import mlflow, optuna_storage, progress, wandb  # noqa: F401  (register the callbacks)
from hotlap.callbacks.base import (
    CALLBACKS,
    Callback,
    CallbackError,
    Callbacks,
    EpochEnded,
    Message,
    RunEnded,
    RunStarted,
    StageStarted,
    SweepEnded,
    SweepInfo,
    check_callbacks,
    get_callback,
    list_callbacks,
    register_callback,
)

__all__ = [
    "CALLBACKS",
    "Callback",
    "CallbackError",
    "Callbacks",
    "EpochEnded",
    "Message",
    "RunEnded",
    "RunStarted",
    "StageStarted",
    "SweepEnded",
    "SweepInfo",
    "check_callbacks",
    "get_callback",
    "list_callbacks",
    "register_callback",
]
