"""The environment a measurement was taken in: versions, device, host."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hotlap

if TYPE_CHECKING:
    import torch

__all__ = [
    "cpu_model",
    "device_name",
    "device_type",
    "environment",
    "git_commit",
    "resolve_device",
    "resolve_device_name",
]


def device_type(device: torch.device | str) -> str:
    """`cuda` or `cpu`: a device's type read from its name (no torch needed)."""
    return str(device).partition(":")[0]


def resolve_device_name(name: str) -> str:
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is a user error. `cpu` is
    resolved without importing torch (a sweep of a script, or of nothing, never needs it)."""
    from hotlap.errors import HotlapError

    if name == "cpu":
        return name
    if name != "auto" and not name.startswith("cuda"):
        raise HotlapError(f"--device {name!r}: expected auto, cpu or cuda[:N]")
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise HotlapError(f"--device {name}: no CUDA GPU is available (torch {torch.__version__})")
    return str(torch.device(name))


def resolve_device(name: str) -> torch.device:
    """The torch device `name` resolves to (`resolve_device_name`)."""
    import torch

    return torch.device(resolve_device_name(name))


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


def device_name(device: torch.device | str) -> str:
    """The device model: CUDA's name of the GPU, or the CPU's model and architecture."""
    if device_type(device) == "cuda":
        import torch

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


def environment(device: torch.device | str) -> dict[str, Any]:
    """Versions, device and host. Where this process has not imported torch (a sweep of a script
    on the CPU: its runs never touch torch here), torch's version is its installed package's and
    its CUDA build and thread count are not known (None)."""
    cuda = device_type(device) == "cuda"
    torch = sys.modules.get("torch")
    if torch is None and cuda:
        import torch
    info: dict[str, Any] = {
        "hotlap": hotlap.__version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__ if torch is not None else _installed("torch"),
        # What the run used: CUDA and cuDNN only where it ran on CUDA (the build's CUDA otherwise).
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda and torch.backends.cudnn.is_available() else None,
        "torch_cuda_build": torch.version.cuda if torch is not None else None,
        "device": str(device),
        "device_name": device_name(device),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
    }
    if cuda:
        props = torch.cuda.get_device_properties(device)
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["gpu_capability"] = f"{props.major}.{props.minor}"
    return info


def _installed(package: str) -> str | None:
    """An installed package's version, read from its metadata (nothing imported)."""
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
