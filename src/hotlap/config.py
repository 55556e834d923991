"""Typed recipe configs and strict KEY=VALUE overrides.

Every recipe's hyperparameters live in one frozen pydantic model (a subclass of `RecipeConfig`).
Overrides from the command line are parsed with YAML's scalar rules (`0.5` is a float, `true` a
bool, `null` None, `cyclic` a string) and validated strictly: an unknown key names the closest
valid keys, a wrong type or an out-of-range value names the field and the allowed range.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotlap.errors import ConfigError
from hotlap.io import DuplicateKeyError, load_yaml

__all__ = [
    "RecipeConfig",
    "config_hash",
    "flatten",
    "older_form",
    "parse_overrides",
    "parse_value",
    "redefault",
    "resolve_config",
    "stored_as",
]

UNIONS = (typing.Union, types.UnionType)  # what pydantic reports per branch
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class RecipeConfig(BaseModel):
    """Base class of every recipe config: immutable, no unknown keys, no silent coercion."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, validate_default=True, allow_inf_nan=False
    )

    # Defaults a field had in earlier releases, {field: (value, ...)}: a stored config holding one
    # where today's default differs is still the config it was when its sweep resumes (its id,
    # runs and values kept: `stored_as`); a new config takes today's default.
    former_defaults: ClassVar[dict[str, tuple[Any, ...]]] = {}

    def eval_views(self) -> int:
        """Forward passes of each test image in the evaluation (a run's FLOPs count them): 1, or
        the recipe's own (the airbench family's TTA views: hotlap.recipes.tta.TTAViews)."""
        return 1

    @classmethod
    def field_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def mapping_fields(cls) -> frozenset[str]:
        """Fields that hold a mapping of their own keys (a quantization's per-layer formats): a
        dotted key `FIELD.KEY` sets one entry (`quant.conv.weight_bits=4`)."""
        return frozenset(
            name for name, info in cls.model_fields.items() if typing.get_origin(info.annotation) is dict
        )

    @staticmethod
    def field_of(key: str) -> str:
        """The field a key sets: itself, or for a dotted key its mapping field (`quant`)."""
        return key.partition(".")[0]

    @classmethod
    def knows(cls, key: str) -> bool:
        """Whether `key` is a field, or a dotted key into a mapping field."""
        head, dot, rest = key.partition(".")
        return key in cls.model_fields or (bool(dot and rest) and head in cls.mapping_fields())


def redefault(config_cls: type[RecipeConfig], name: str, default: Any) -> Any:
    """Field `name` of `config_cls` with another default, its bounds and description kept: how a
    family member (airbench95 from airbench94) changes a default without restating the field.

        class Airbench95Config(Airbench94Config):
            epochs: float = redefault(Airbench94Config, "epochs", 15.0)
    """
    import dataclasses

    info = config_cls.model_fields[name]
    bounds: dict[str, Any] = {}
    for meta in info.metadata:  # annotated_types.Gt(gt=0) -> {"gt": 0}
        if not dataclasses.is_dataclass(meta):
            raise TypeError(f"{config_cls.__name__}.{name}: cannot carry over {meta!r}")
        bounds.update(dataclasses.asdict(meta))  # type: ignore[arg-type]
    return Field(default, description=info.description, **bounds)


def _default(config_cls: type[RecipeConfig], name: str) -> Any:
    return config_cls.model_fields[name].get_default(call_default_factory=True)


def older_form(config_cls: type[RecipeConfig], stored: Mapping[str, Any]) -> bool:
    """Whether a stored config predates `config_cls`: it lacks a field the class has now, or holds
    a field's former default (`RecipeConfig.former_defaults`) where the default changed since."""
    if set(stored) < set(config_cls.model_fields):
        return True
    return any(
        name in stored and stored[name] in values and stored[name] != _default(config_cls, name)
        for name, values in config_cls.former_defaults.items()
    )


def stored_as(config_cls: type[RecipeConfig], stored: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether `stored` (a config an earlier release resolved) is the config that resolves to
    `values` today: every stored field equal, except fields whose default changed since, holding a
    former default where `values` holds today's; fields added since at their default."""
    fields = config_cls.model_fields
    new = set(values) - set(stored)
    if set(stored) - set(values) or any(fields[k].is_required() for k in new):
        return False
    if any(values[k] != _default(config_cls, k) for k in new):
        return False
    former = config_cls.former_defaults
    changed = [k for k in stored if stored[k] != values[k]]
    if not new and not changed:
        return False  # the same config: found by its hash
    return all(stored[k] in former.get(k, ()) and values[k] == _default(config_cls, k) for k in changed)


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys: {conv: {weight_bits: 4}} -> {conv.weight_bits: 4}.
    A key given twice (nested and dotted) is a ValueError."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        items = flatten(value, f"{name}.") if isinstance(value, Mapping) else {name: value}
        for flat, item in items.items():
            if flat in out:
                raise ValueError(f"{flat} is given twice")
            out[flat] = item
    return out


def parse_value(text: str) -> Any:
    """A command-line value, typed by YAML's rules; `1e-3` is a number too (YAML 1.1 says string)."""
    try:
        value = load_yaml(text) if text.strip() else ""
    except DuplicateKeyError as exc:
        raise ConfigError(f"{text!r}: {exc}") from None
    except yaml.YAMLError:
        return text  # not YAML: keep the text, validation decides
    return _numbers(value)


def _numbers(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    return value


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse `KEY=VALUE` strings into a dict, values typed by `parse_value`."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form KEY=VALUE")
        if key in overrides:
            raise ConfigError(f"override {key!r} is given twice")
        value = parse_value(raw)
        if isinstance(value, list) or (isinstance(value, dict) and value):
            # ({} is a value: an empty mapping field, e.g. quant={}; its entries are dotted keys)
            raise ConfigError(
                f"override {key}={raw} must be a single value, not a list or mapping"
                + (f" (set one entry: {key}.KEY=VALUE)" if isinstance(value, dict) else "")
            )
        overrides[key] = value
    return overrides


def _closest(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    if close:
        return "closest: " + ", ".join(close)
    return "valid keys: " + ", ".join(valid)


def _describe_error(error: Mapping[str, Any], config_cls: type[RecipeConfig]) -> str:
    parts = [str(part) for part in error.get("loc", ())]
    loc = ".".join(parts) or "config"
    message = error.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    value = error.get("input")
    head = config_cls.model_fields.get(parts[0]) if parts else None
    if head is not None and len(parts) > 1 and typing.get_origin(head.annotation) in UNIONS:
        # pydantic names a union's branch (`compile.bool`): the field, and each type it takes
        loc, message = parts[0], "not a value of its type"
    field = config_cls.model_fields.get(loc)
    hint = ""
    if field is not None and field.annotation is not None:
        hint = f" (type {_type_name(field.annotation)})"
    if isinstance(value, Mapping):
        return f"invalid {loc}: {message}" if field is not None else f"invalid config: {message}"
    return f"invalid value for {loc}={value!r}: {message}{hint}"


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) in UNIONS:  # bool | Literal["auto"]: bool | 'auto'
        return " | ".join(_type_name(branch) for branch in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(value) for value in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    name = getattr(annotation, "__name__", None)
    return name if name else str(annotation).replace("typing.", "")


def resolve_config(
    config_cls: type[RecipeConfig],
    overrides: Mapping[str, Any] | None = None,
    *,
    base: RecipeConfig | None = None,
    context: str = "",
) -> RecipeConfig:
    """Return `config_cls` with `overrides` applied on its defaults (or on `base`).

    Raises ConfigError with a one-line message for unknown keys and invalid values.
    """
    overrides = dict(overrides or {})
    valid = config_cls.field_names()
    where = f" for {context}" if context else ""
    free = config_cls.model_config.get("extra") == "allow"  # a script's config takes its own keys
    for key in overrides:
        if not config_cls.knows(key) and not free:
            raise ConfigError(f"unknown config key {key!r}{where} ({_closest(key, valid)})")
    values = base.model_dump() if base is not None else {}
    dotted = {k: v for k, v in overrides.items() if k not in valid and config_cls.knows(k)}
    values.update({k: v for k, v in overrides.items() if k not in dotted})
    for key, value in dotted.items():  # FIELD.KEY sets one entry of a mapping field
        head, _, rest = key.partition(".")
        current = values.get(head) if isinstance(values.get(head), Mapping) else {}
        try:  # a nested mapping is flattened first, so that the dotted key replaces its entry
            entries = (
                flatten(current) if any(isinstance(v, Mapping) for v in current.values()) else dict(current)
            )
        except ValueError as exc:
            raise ConfigError(f"invalid {head}: {exc}{where}") from None
        values[head] = {**entries, rest: value}
    for key, value in overrides.items():
        if _has_nul(value):  # no program argument, file name or environment variable can carry it
            raise ConfigError(f"invalid value for {key}={value!r}: contains a NUL character{where}")
    try:
        return config_cls.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_describe_error(first, config_cls) + where) from None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def config_hash(recipe: str, config: RecipeConfig | Mapping[str, Any]) -> str:
    """SHA-256 of the canonical resolved config: the same on every process and machine.

    Canonical: the recipe name and every field (defaults included) as JSON with sorted keys,
    compact separators and Python's shortest round-trip float repr, so `lr=12` and `lr=12.0`
    and any override order give one hash.
    """
    values = config.model_dump() if isinstance(config, RecipeConfig) else dict(config)
    text = json.dumps(
        {"recipe": recipe, "config": values}, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    return hashlib.sha256(text.encode()).hexdigest()
