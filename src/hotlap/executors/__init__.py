"""Executors run (config, seed) tasks for the engine; `inprocess` is the default, `ray` runs on a
Ray cluster (the extra `hotlap[ray]`)."""

from __future__ import annotations

from hotlap.executors import cluster, inprocess  # noqa: F401  (register the executors; Ray loads on use)
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
