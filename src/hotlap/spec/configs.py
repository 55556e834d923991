"""A sweep's configs checked against its recipe before anything runs: every key the spec sets is a
config key, and every value a config can take (the base, each swept value, each variant, the
baseline, the low fidelity) validates against the recipe's config and trains on the sweep's
dataset, as `hotlap run` checks one config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hotlap.config import resolve_config
from hotlap.errors import ConfigError
from hotlap.spec.errors import closest_key
from hotlap.spec.fields import RECIPE_KEY, VARIANT_KEY, ChoicesSpec, RangeSpec, SpecError
from hotlap.spec.schema import SweepSpec

if TYPE_CHECKING:
    from hotlap.recipes import Recipe

__all__ = ["check_configs"]


class _ConfigCheck:
    """Checks values against one recipe's config: known keys (a script takes any: its own flags),
    and a config that validates and trains on the sweep's dataset (as `hotlap run` checks)."""

    def __init__(self, spec: SweepSpec, recipe: Recipe) -> None:
        self.spec, self.recipe = spec, recipe

    def key(self, where: str, key: str) -> None:
        cls = self.recipe.config_cls
        if not cls.knows(key) and not self.recipe.free_keys:
            raise SpecError(
                f"{where}: unknown config key {key!r} for recipe {self.recipe.name} "
                f"({closest_key(key, cls.field_names())})"
            )

    def values(self, where: str, overrides: Mapping[str, Any]) -> None:
        for key in overrides:
            self.key(where, key)
        try:
            self.recipe.check_trainable(resolve_config(self.recipe.config_cls, overrides), self.spec.dataset)
        except ConfigError as exc:
            raise SpecError(f"{where}: {exc}") from None


def _space_values(entry: Any) -> list[Any]:
    """The values of a space entry worth checking: a range's ends (every value of a finite one)."""
    if isinstance(entry, RangeSpec):
        return entry.values() if entry.finite else [entry.low, entry.high]
    if isinstance(entry, ChoicesSpec):
        return list(entry.choices)
    return list(entry)


def _check_keys(spec: SweepSpec, recipe: Recipe) -> None:
    """The recipe's own check of the keys the sweep sets (a script: its flags)."""
    if recipe.check_keys is None:
        return
    keys = {*spec.base, *spec.space, *(k for v in spec.variants.values() for k in v)} - {RECIPE_KEY}
    if spec.fidelity is not None:
        keys.add(spec.fidelity.key)
    try:
        recipe.check_keys(resolve_config(recipe.config_cls, spec.base), frozenset(keys))
    except ConfigError as exc:
        raise SpecError(str(exc)) from None


def check_configs(spec: SweepSpec, recipe: Recipe) -> None:
    """Every value a config can take must validate against the recipe's config, and train on the
    sweep's dataset (the same check as `hotlap run`'s)."""
    check = _ConfigCheck(spec, recipe)
    check.values("base", spec.base)
    _check_keys(spec, recipe)
    for key, entry in spec.space.items():
        if key == RECIPE_KEY:
            continue
        check.key("space", key)
        for value in _space_values(entry):
            check.values(f"space.{key}", {**spec.base, key: value})
    for name, overrides in spec.variants.items():
        clash = set(overrides) & set(spec.space)
        if clash:
            raise SpecError(f"variants.{name}: sets swept key(s) {', '.join(sorted(clash))}")
        # with the recipe swept in space, every variant applies to every recipe
        if RECIPE_KEY in spec.space or spec.recipe_of({VARIANT_KEY: name}) == recipe.name:
            merged = {**spec.base, **overrides}
            merged.pop(RECIPE_KEY, None)
            check.values(f"variants.{name}", merged)
    if spec.baseline is not None and spec.recipe_of(None, baseline=True) == recipe.name:
        check.values("baseline", spec.baseline_overrides())
    if spec.fidelity is not None:
        check.key("fidelity.key", spec.fidelity.key)
        check.values("fidelity.low", {**spec.base, spec.fidelity.key: spec.fidelity.low})
        _check_low_fidelity(spec, recipe)


def _check_low_fidelity(spec: SweepSpec, recipe: Recipe) -> None:
    """`fidelity.low` is below the full value of its key in every config (base, variants): a
    screening at or above full fidelity promotes nothing it did not already know."""
    assert spec.fidelity is not None
    key, low = spec.fidelity.key, spec.fidelity.low
    settings = [spec.base, *({**spec.base, **v} for v in spec.variants.values())]
    for overrides in settings:
        overrides = {k: v for k, v in overrides.items() if k != RECIPE_KEY}
        full = getattr(resolve_config(recipe.config_cls, overrides), key, None)
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, full))
        if numbers and low >= full:  # type: ignore[operator]
            raise SpecError(
                f"fidelity.low {low} is not below the full {key}, {full}: low fidelity costs less"
            )
