"""Executors run (config, seed) tasks for the engine; `inprocess` is the default."""

from __future__ import annotations

from hotlap.executors import inprocess  # noqa: F401  (registers the executor)
from hotlap.executors.base import (
    EpochSink,
    Executor,
    Outcome,
    Task,
    check_executor,
    encode_artifacts,
    error_line,
    executor_options,
    get_executor,
    list_executors,
    register_executor,
)
from hotlap.executors.inprocess import InProcessExecutor

__all__ = [
    "EpochSink",
    "Executor",
    "InProcessExecutor",
    "Outcome",
    "Task",
    "check_executor",
    "encode_artifacts",
    "error_line",
    "executor_options",
    "get_executor",
    "list_executors",
    "register_executor",
]
