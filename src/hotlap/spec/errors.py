"""Spec errors as one line: pydantic's errors described by field, the closest valid names, and
dotted `key=value` overrides applied to a raw spec."""

from __future__ import annotations

import difflib
import json
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from hotlap.config import parse_value
from hotlap.spec.fields import RangeSpec, SpecError


def closest_key(key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    return f"closest: {', '.join(close)}" if close else f"valid: {', '.join(valid)}"


_WRITTEN_AS = {
    "target": "objective.target",
    "racing": "seeds",
}  # stored field -> as written in a spec


UNION_BRANCH = re.compile(r"^(list\[|RangeSpec|ChoicesSpec|function-|bool$|int$|float$|str$|none$)")


def describe_errors(errors: Sequence[Mapping[str, Any]] | Mapping[str, Any], root: type[BaseModel]) -> str:
    """One line for pydantic's errors: the one that names the problem (a non-finite number rather
    than the union branches it also failed), its path as the spec writes it; `root` is the model
    validated (its fields name the valid keys of an unknown one)."""
    if isinstance(errors, Mapping):
        errors = [errors]
    error = next((e for e in errors if e.get("type") == "finite_number"), errors[0])
    loc = [str(part) for part in error.get("loc", ())]
    # Drop pydantic's union-branch labels ("list[...]", "RangeSpec", "int") from the path.
    loc = [part for part in loc if not UNION_BRANCH.match(part)]
    if loc and loc[0] in _WRITTEN_AS:  # name the field as the user wrote it
        loc = [*_WRITTEN_AS[loc[0]].split("."), *loc[1:]]
    where = ".".join(loc) or "spec"
    message = error.get("msg", "invalid")
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.get("type") == "extra_forbidden":
        parent = loc[:-1]
        valid = _valid_keys(root, parent)
        hint = f" ({closest_key(loc[-1], valid)})" if valid else ""
        return f"unknown key {where!r}{hint}"
    return f"{where}: {message}" if loc else message


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (`StrategySpec`, `FidelitySpec | None`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, typing.get_args(annotation)) if m is not None), None)


def _valid_keys(root: type[BaseModel], parent: list[str]) -> list[str]:
    """The keys a mapping at `parent` (a path in the spec) may have."""
    if len(parent) == 2 and parent[0] == "space":
        return list(RangeSpec.model_fields)
    model: type[BaseModel] | None = root
    for part in parent:
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if model is not None else []


def apply_overrides(raw: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """Set dotted FIELD=VALUE overrides (`seeds=3`, `base.width=0.25`) on a raw spec mapping."""
    out = json.loads(json.dumps(raw, default=str))
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise SpecError(f"override {item!r} is not of the form FIELD=VALUE")
        value = parse_value(text)
        node = out
        parts = path.strip().split(".")
        if len(parts) > 2 and parts[0] == "space" and isinstance(out.get("space"), dict):
            # a swept key with dots of its own (`space.quant.conv.weight_bits=[4, 8]`): the
            # longest key the space has, or the whole rest where it has none
            rest = parts[1:]
            known = [n for n in range(len(rest), 0, -1) if ".".join(rest[:n]) in out["space"]]
            if known or not any(part in ("low", "high", "step", "log", "choices") for part in rest):
                n = known[0] if known else len(rest)
                parts = ["space", ".".join(rest[:n]), *rest[n:]]
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(f"override {item!r}: {part} is not a mapping")
            node = child
        node[parts[-1]] = value
    return out
