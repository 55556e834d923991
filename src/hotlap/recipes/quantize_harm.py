"""A quantization that ruins layers says so, in one line (`QuantizationWarning`): where over 1% of
a layer's weights saturate (fixed point whose range they exceed), or weights rounded to zero held
over half of its weight norm (steps coarser than the weights that matter; tiny weights rounded
away do not count). hotlap.recipes.quantize asks after rounding each layer's weights."""

from __future__ import annotations

import warnings

import torch

from hotlap.errors import HotlapWarning

__all__ = ["SATURATED", "ZEROED", "QuantizationWarning", "ruin", "warn_ruined"]

SATURATED = 0.01  # a layer whose weights saturate beyond this share is named in the warning
ZEROED = 0.5  # ... or whose weights rounded to zero held more than this share of its norm


class QuantizationWarning(HotlapWarning):
    """A quantization that saturates layers' weights or rounds most of them to zero."""


def ruin(
    name: str, weight: torch.Tensor, quantized: torch.Tensor, fmt: str, bits: int, frac: int
) -> str | None:
    """What a layer's quantization (format `fmt`, `bits` wide, `frac` fractional bits for fixed
    point) does to its weights when it ruins them: the share that saturates, or the share of the
    weight norm rounded to zero; None otherwise."""
    values, rounded = weight.detach().float(), quantized.detach().float()
    if fmt == "fixed":
        top = (2 ** (bits - 1) - 1) * 2.0**-frac
        saturated = float((values.abs() > top + 2.0 ** (-frac - 1)).float().mean()) if values.numel() else 0.0
        if saturated > SATURATED:
            largest = float(values.abs().max())
            return (
                f"layer {name}: {saturated:.0%} of its weights saturate (up to {largest:.3g} against "
                f"fixed {bits}.{frac}'s range of +-{top:.3g})"
            )
    norm = float(values.norm())
    lost = float(values[(values != 0) & (rounded == 0)].norm()) / norm if norm > 0 else 0.0
    if lost > ZEROED:
        return f"layer {name}: weights holding {lost:.0%} of its weight norm round to zero at {bits} bits"
    return None


def warn_ruined(ruined: list[str], per_channel: bool) -> None:
    """One warning naming the ruined layers (the first four); `per_channel`: every layer already
    scales per channel (else the warning says that format would)."""
    shown = "; ".join(ruined[:4]) + (f"; and {len(ruined) - 4} more layers" if len(ruined) > 4 else "")
    advice = "" if per_channel else " (int_channel scales each channel to its weights)"
    warnings.warn(
        f"quant: {shown}: the quantized network loses accuracy there{advice}",
        QuantizationWarning,
        stacklevel=3,
    )
