"""Device names as runs record them, and when two name one device model.

A GPU is named by CUDA (`NVIDIA H100 80GB HBM3`); a CPU by its model and architecture
(`AMD EPYC 7B13 (x86_64)`). Runs recorded before CPU models were read carry the architecture
alone (`x86_64`): that name matches any CPU of that architecture, so older sweeps resume and
report as one device. Pure: no torch, so the store and the analysis may use it.
"""

from __future__ import annotations

__all__ = ["merge_devices", "same_device"]

# What `platform.machine()` says: a CPU's architecture, the whole name older runs recorded.
ARCHITECTURES = frozenset(
    {"x86_64", "amd64", "AMD64", "aarch64", "arm64", "i386", "i686", "ppc64le", "s390x", "cpu"}
)


def _covers(generic: str, specific: str) -> bool:
    return generic in ARCHITECTURES and specific.endswith(f"({generic})")


def same_device(a: str, b: str) -> bool:
    """Whether runs on `a` and on `b` ran on one device model."""
    return a == b or _covers(a, b) or _covers(b, a)


def merge_devices(counts: dict[str, int]) -> dict[str, int]:
    """Runs per device, a bare architecture's runs counted with the one CPU model that has it."""
    merged = dict(counts)
    for name in [n for n in counts if n in ARCHITECTURES]:
        models = [m for m in merged if m != name and _covers(name, m)]
        if len(models) == 1:
            merged[models[0]] += merged.pop(name)
    return dict(sorted(merged.items(), key=lambda item: -item[1]))
