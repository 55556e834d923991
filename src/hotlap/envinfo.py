"""The environment a measurement was taken in: versions, device, host."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

import hotlap

__all__ = ["cpu_model", "device_name", "environment", "git_commit", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is a user error."""
    from hotlap.errors import HotlapError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise HotlapError(f"--device {name}: no CUDA GPU is available (torch {torch.__version__})")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise HotlapError(f"--device {name!r}: expected auto, cpu or cuda[:N]")


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the repository holding hotlap's source (with '-dirty' if modified), if any."""
    where = path or Path(hotlap.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def device_name(device: torch.device) -> str:
    """The device model: CUDA's name of the GPU, or the CPU's model and architecture."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    machine = platform.machine() or "cpu"
    model = cpu_model()
    return f"{model} ({machine})" if model and model != machine else machine


@functools.cache  # read once per process (every run names its device)
def cpu_model() -> str | None:
    """The CPU's model name (`/proc/cpuinfo` on Linux, sysctl on macOS), None where unknown."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "cpu model") and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        return out or None
    return platform.processor() or None


def environment(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "hotlap": hotlap.__version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        # What the run used: CUDA and cuDNN only where it ran on CUDA (the build's CUDA otherwise).
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version()
        if device.type == "cuda" and torch.backends.cudnn.is_available()
        else None,
        "torch_cuda_build": torch.version.cuda,
        "device": str(device),
        "device_name": device_name(device),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["gpu_capability"] = f"{props.major}.{props.minor}"
    return info
