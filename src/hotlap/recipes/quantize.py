"""Post-training quantization of a trained network: per-layer numeric formats, applied as fake
quantization (torch's `fake_quantize_per_tensor_affine` / `_per_channel_affine`), no retraining.

A recipe's `quant` field maps `SELECTOR.ATTRIBUTE` to a value: the selector is `all`, a layer type
(`conv`, `linear`) or a module's name; the attributes are `weight_bits`, `act_bits`, `weight_frac`,
`act_frac`, `bias_bits`, `bias_frac` and `format` (`int_channel`, the default; `int`; `fixed`).
`{}` is the full-precision network exactly. `bit_widths` counts what the formats make of the parameters
(avg_bits, memory density, quantized size). The guide: docs/how-to/quantization.md; the check for
ruined layers: hotlap.recipes.quantize_harm."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hotlap.config import flatten
from hotlap.errors import ConfigError
from hotlap.recipes.quantize_harm import QuantizationWarning, ruin, warn_ruined

__all__ = [
    "ATTRIBUTES",
    "CALIBRATION_IMAGES",
    "FULL",
    "BitWidths",
    "LayerFormat",
    "QuantizationWarning",
    "bit_widths",
    "check_quant",
    "fake_quantize",
    "layer_formats",
    "normalize_quant",
    "quant_field",
    "quantize_network",
    "quantized_copy",
]

FULL = 32  # a width at which a tensor stays as stored
MIN_BITS = 2
FORMATS = ("fixed", "int", "int_channel")
TYPES: dict[str, type[nn.Module]] = {"conv": nn.modules.conv._ConvNd, "linear": nn.Linear}
ALL = "all"
ATTRIBUTES = ("weight_bits", "act_bits", "weight_frac", "act_frac", "bias_bits", "bias_frac", "format")
CALIBRATION_IMAGES = 512


@dataclass(frozen=True)
class LayerFormat:
    """One layer's numeric formats: its weights', its bias' (the weights' unless set, as Mase sets
    them apart) and its input's."""

    weight_bits: int = FULL
    act_bits: int = FULL
    weight_frac: int | None = None  # fixed point; None: half the width
    act_frac: int | None = None
    format: str = "int_channel"  # calibrated per output channel: keeps a trained network
    bias_bits: int | None = None  # None: the weights' width (and fraction)
    bias_frac: int | None = None

    @property
    def bias_width(self) -> int:
        return self.weight_bits if self.bias_bits is None else self.bias_bits

    def frac(self, which: str) -> int:
        if which == "bias" and self.bias_bits is None and self.bias_frac is None:
            return self.frac("weight")
        bits = {"weight": self.weight_bits, "act": self.act_bits, "bias": self.bias_width}[which]
        given = {"weight": self.weight_frac, "act": self.act_frac, "bias": self.bias_frac}[which]
        return bits // 2 if given is None else given

    @property
    def describe(self) -> str:
        def one(which: str, bits: int) -> str:
            if bits >= FULL:
                return "as stored"
            if self.format == "fixed":
                return f"fixed {bits}.{self.frac(which)}"
            return f"{self.format} {bits}"

        return f"weights {one('weight', self.weight_bits)}, input {one('act', self.act_bits)}"


def normalize_quant(value: Any) -> dict[str, int | str]:
    """The `quant` mapping checked and flat (`{conv: {weight_bits: 4}}` -> `{conv.weight_bits: 4}`);
    a ValueError naming the entry where one is wrong. Selectors that are module names are checked
    against the network later (`check_quant`)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"a mapping of SELECTOR.ATTRIBUTE to a value (got {value!r})")
    flat = flatten(value)
    for key, item in flat.items():
        selector, dot, attribute = key.rpartition(".")
        if not dot or not selector:
            raise ValueError(
                f"{key}: write SELECTOR.ATTRIBUTE (conv.weight_bits; attributes: {', '.join(ATTRIBUTES)})"
            )
        if attribute not in ATTRIBUTES:
            raise ValueError(f"{key}: unknown attribute {attribute!r} ({', '.join(ATTRIBUTES)})")
        if attribute == "format":
            if item not in FORMATS:
                raise ValueError(f"{key}: {item!r} is not a format ({', '.join(FORMATS)})")
            continue
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{key}: {item!r} is not a whole number of bits")
        if attribute.endswith("_bits") and not MIN_BITS <= item <= FULL:
            raise ValueError(f"{key}: {item} bits is not a width from {MIN_BITS} to {FULL}")
        if attribute.endswith("_frac") and not 0 <= item <= FULL:
            raise ValueError(f"{key}: {item} fractional bits is not from 0 to {FULL}")
    return flat  # type: ignore[return-value]


def quant_field() -> Any:
    """A recipe config's `quant` field (evaluation-only: list it in the recipe's eval_fields), with
    its check: `quant: dict[str, int | str] = quant_field()` and `_quant = quant_check()`."""
    from pydantic import Field

    return Field(
        {},
        description="post-training fake quantization per layer, SELECTOR.ATTRIBUTE: value "
        "(hotlap.recipes.quantize); {}: full precision",
    )


def quant_check() -> Any:
    """The `quant` field's validator: the mapping checked and made flat (`normalize_quant`)."""
    from pydantic import field_validator

    return field_validator("quant", mode="before")(lambda value: normalize_quant(value))


def quantized_copy(
    net: nn.Module,
    quant: Mapping[str, Any],
    calibration: Callable[[], torch.Tensor],
    batch_size: int,
) -> nn.Module:
    """Untimed: a quantized copy of the trained `net` (which stays as it is: its weights are the
    ones a run keeps), or `net` itself where `quant` is {}."""
    if not quant:
        return net
    import copy

    clone = copy.deepcopy(net)
    quantize_network(clone, quant, calibration, batch_size)
    return clone


def _quantizable(net: nn.Module) -> dict[str, nn.Module]:
    return {
        name: module
        for name, module in net.named_modules()
        if name and isinstance(module, tuple(TYPES.values()))
    }


def _type_of(module: nn.Module) -> str:
    return next(kind for kind, cls in TYPES.items() if isinstance(module, cls))


def layer_formats(net: nn.Module, quant: Mapping[str, Any]) -> dict[str, LayerFormat]:
    """Each convolution's and linear layer's format, by module name (a name's entries win over its
    type's, a type's over `all`'s). A selector that names no such layer is a ConfigError."""
    layers = _quantizable(net)
    by_selector: dict[str, dict[str, Any]] = {}
    for key, value in normalize_quant(quant).items():
        selector, _, attribute = key.rpartition(".")
        by_selector.setdefault(selector, {})[attribute] = value
    unknown = [s for s in by_selector if s not in (ALL, *TYPES) and s not in layers]
    if unknown:
        names = ", ".join(list(layers)[:6]) + (", ..." if len(layers) > 6 else "")
        raise ConfigError(
            f"quant: {unknown[0]!r} is no layer of this network (types: {ALL}, {', '.join(TYPES)}; "
            f"layers: {names})"
        )
    formats = {}
    for name, module in layers.items():
        entries = {
            **by_selector.get(ALL, {}),
            **by_selector.get(_type_of(module), {}),
            **by_selector.get(name, {}),
        }
        formats[name] = LayerFormat(**entries)
    return formats


def check_quant(net: nn.Module, quant: Mapping[str, Any]) -> None:
    """A ConfigError before anything runs where `quant` names a layer the network lacks."""
    if quant:
        layer_formats(net, quant)


def fake_quantize(
    x: torch.Tensor,
    bits: int,
    frac: int,
    fmt: str,
    *,
    axis: int | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    """`x` rounded to the format's grid and clipped to its range, in `x`'s dtype. Fixed point:
    steps of 2^-frac, [-2^(bits-1), 2^(bits-1) - 1] steps. Integer: symmetric, [-(2^(bits-1) - 1),
    2^(bits-1) - 1] steps of largest |x| / (2^(bits-1) - 1) (`scale` given: that step), per slice
    along `axis` where one is given."""
    if bits >= FULL:
        return x
    values = x.detach().float()
    if fmt == "fixed":
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        out = torch.fake_quantize_per_tensor_affine(values, 2.0**-frac, 0, low, high)
        return out.to(x.dtype)
    high = 2 ** (bits - 1) - 1
    if axis is not None:
        dims = [d for d in range(values.dim()) if d != axis]
        largest = values.abs().amax(dim=dims) if dims else values.abs()
        steps = torch.where(largest > 0, largest / high, torch.ones_like(largest))
        zeros = torch.zeros(len(steps), dtype=torch.int32, device=values.device)
        out = torch.fake_quantize_per_channel_affine(values, steps, zeros, axis, -high, high)
        return out.to(x.dtype)
    if scale is None:
        largest = float(values.abs().max()) if values.numel() else 0.0
        scale = largest / high if largest > 0 else 1.0
    out = torch.fake_quantize_per_tensor_affine(values, max(scale, 1e-12), 0, -high, high)
    return out.to(x.dtype)


@torch.no_grad()
def _calibrate(
    net: nn.Module, names: list[str], calibration: torch.Tensor, batch_size: int
) -> dict[str, float]:
    """The largest |input| of each named layer over the calibration images."""
    layers = dict(net.named_modules())
    largest = dict.fromkeys(names, 0.0)
    hooks = []
    for name in names:

        def record(module: nn.Module, args: tuple[Any, ...], name: str = name) -> None:
            largest[name] = max(largest[name], float(args[0].detach().abs().max()))

        hooks.append(layers[name].register_forward_pre_hook(record))
    try:
        net.eval()
        for batch in calibration.split(batch_size):
            net(batch)
    finally:
        for hook in hooks:
            hook.remove()
    return largest


@torch.no_grad()
def quantize_network(
    net: nn.Module,
    quant: Mapping[str, Any],
    calibration: Callable[[], torch.Tensor] | None = None,
    batch_size: int = 256,
) -> dict[str, LayerFormat]:
    """Quantize `net` in place: each layer's weights and bias rounded to its format, and a hook
    that rounds its input on every forward pass. `calibration()` gives the normalized training
    images integer inputs take their scales from (needed only where a layer has one). Returns each
    layer's format. `{}` leaves the network untouched."""
    if not quant:
        return {}
    formats = layer_formats(net, quant)
    layers = dict(net.named_modules())
    calibrated = [n for n, f in formats.items() if f.act_bits < FULL and f.format != "fixed"]
    largest: dict[str, float] = {}
    if calibrated:
        if calibration is None:
            raise ValueError("integer input formats need calibration images")
        largest = _calibrate(net, calibrated, calibration(), batch_size)
    ruined: list[str] = []
    for name, fmt in formats.items():
        module = layers[name]
        if fmt.weight_bits < FULL:
            axis = 0 if fmt.format == "int_channel" else None
            frac = fmt.frac("weight")
            quantized = fake_quantize(module.weight, fmt.weight_bits, frac, fmt.format, axis=axis)
            harm = ruin(name, module.weight, quantized, fmt.format, fmt.weight_bits, frac)
            ruined += [harm] if harm else []
            module.weight.copy_(quantized)
        if getattr(module, "bias", None) is not None and fmt.bias_width < FULL:
            per_tensor = "int" if fmt.format == "int_channel" else fmt.format
            module.bias.copy_(fake_quantize(module.bias, fmt.bias_width, fmt.frac("bias"), per_tensor))
        if fmt.act_bits < FULL:
            bits, frac = fmt.act_bits, fmt.frac("act")
            kind = "fixed" if fmt.format == "fixed" else "int"
            high = 2 ** (bits - 1) - 1
            scale = largest[name] / high if largest.get(name) else 1.0

            def round_input(
                module: nn.Module,
                args: tuple[Any, ...],
                bits: int = bits,
                frac: int = frac,
                kind: str = kind,
                scale: float = scale,
            ) -> tuple[Any, ...]:
                return (fake_quantize(args[0], bits, frac, kind, scale=scale), *args[1:])

            module.register_forward_pre_hook(round_input)
    if ruined:
        warn_ruined(ruined, all(f.format == "int_channel" for f in formats.values()))
    return formats


@dataclass(frozen=True)
class BitWidths:
    """What a quantization makes of the network's parameters."""

    avg_bits: float  # every parameter, weighted by count (hotlap's whole-model count)
    quantized_bytes: float  # every parameter at its width, bits / 8
    parameters: int
    # The quantized layers' weights only, weighted by count (Mase's count: its "average bitwidth");
    # 32 where no layer's weights are quantized.
    weight_avg_bits: float = float(FULL)

    @property
    def memory_density(self) -> float:
        return FULL / self.avg_bits

    def metrics(self) -> dict[str, float]:
        return {
            "avg_bits": self.avg_bits,
            "memory_density": self.memory_density,
            "quantized_bytes": self.quantized_bytes,
            "weight_avg_bits": self.weight_avg_bits,
            "weight_memory_density": FULL / self.weight_avg_bits,
        }


def bit_widths(net: nn.Module, quant: Mapping[str, Any]) -> BitWidths:
    """Average bit width, memory density and size of `net`'s parameters under `quant` (the
    module's docstring says how each is counted)."""
    formats = layer_formats(net, quant) if quant else {}
    layers = dict(net.named_modules())
    total_bits = count = weight_bits = weights = 0
    for name, param in net.named_parameters():
        owner, _, leaf = name.rpartition(".")
        stored = param.element_size() * 8
        bits = stored
        fmt = formats.get(owner)
        if fmt is not None and leaf in ("weight", "bias") and owner in layers:
            bits = min(stored, fmt.weight_bits if leaf == "weight" else fmt.bias_width)
            if leaf == "weight" and bits < stored:  # a quantized layer's weights: Mase's count
                weight_bits, weights = weight_bits + bits * param.numel(), weights + param.numel()
        total_bits += bits * param.numel()
        count += param.numel()
    if count == 0:
        raise ConfigError("quant: the network has no parameters to count")
    return BitWidths(
        total_bits / count, math.ceil(total_bits / 8), count, weight_bits / weights if weights else FULL
    )
