"""A spec checked against the registries: recipes, metrics, datasets, strategies, executors and
callbacks. `parse_spec` validates a new spec; `stored_spec` reads the spec a sweep was stored with,
needing none of the registries, so a sweep can be reported after its recipe plugin is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from hotlap.config import resolve_config
from hotlap.errors import HotlapError
from hotlap.io import DuplicateKeyError, YamlTooLarge, load_yaml
from hotlap.metrics import Metric
from hotlap.rules import get_rule, list_rules
from hotlap.spec.configs import check_configs
from hotlap.spec.errors import apply_overrides, closest_key, describe_errors
from hotlap.spec.fields import MAX_NAME, SCORE, Objective, SpecError
from hotlap.spec.schema import SweepSpec
from hotlap.spec.sugar import OLD_NAMES

if TYPE_CHECKING:
    from hotlap.recipes import Recipe

__all__ = ["OWN_DATA", "load_spec", "parse_spec", "shadowed", "stored_spec"]

# The dataset label of a sweep whose recipe loads no data (a script reads its own) and whose spec
# names none: reports say "script on own-data".
OWN_DATA = "own-data"


MAX_SPEC_BYTES = 10_000_000  # a spec file larger than this is no spec (a device file, a dataset)


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read, override and validate a spec file; raise SpecError (one line) on any problem."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():
            raise SpecError(f"spec file {path} is not a regular file")
        if path.exists() and path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"spec file {path} is {path.stat().st_size:,} bytes: a spec is a short YAML file")
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"spec file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"spec file {path} cannot be read ({exc.__class__.__name__})") from None
    try:
        raw = load_yaml(text)
    except DuplicateKeyError as exc:
        raise SpecError(f"{path}: {exc}; give each field once") from None
    except YamlTooLarge as exc:
        raise SpecError(f"{path}: not read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping of fields (name, recipe, space, ...)")
    try:
        raw = apply_overrides(raw, overrides or [])
        if raw.get("derived_from") is not None:  # a sweep that names no source and runs nothing
            raise SpecError(
                "derived_from is set by `hotlap eval` and reweight on the sweeps they derive, "
                "never in a spec file"
            )
        return parse_spec(_script_folder(raw, path.parent))
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def _script_folder(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A script block's `cwd` (default: the spec file's folder) as an absolute path, so that the
    command finds its files wherever hotlap is started from."""
    script = raw.get("script")
    if not isinstance(script, Mapping):
        return raw
    cwd = script.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        return raw  # the block's validation names the problem
    resolved = (folder / (cwd or ".")).resolve()
    return {**raw, "script": {**script, "cwd": str(resolved)}}


def stored_spec(raw: Mapping[str, Any]) -> SweepSpec:
    """The spec of a stored sweep, as it was validated when the sweep was made: no registry is
    consulted (its recipe, strategy or callbacks may be plugins that are not importable now)."""
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(
            f"the stored spec does not validate: {describe_errors(exc.errors(), SweepSpec)}"
        ) from None


def parse_spec(raw: Mapping[str, Any]) -> SweepSpec:
    """Validate a spec mapping against the registries; resolve the recipe's metrics into it, and
    the default objective and target metric from them."""
    from hotlap.callbacks import check_callbacks
    from hotlap.data import get_dataset_spec
    from hotlap.executors import check_executor
    from hotlap.recipes import get_recipe
    from hotlap.strategies import list_strategies, strategy_class  # (strategies import the spec's fields)

    raw = dict(raw)
    raw.pop("metrics", None)  # always the recipe's own declaration
    if "dataset" not in raw and isinstance(raw.get("recipe"), str):
        with contextlib.suppress(HotlapError):  # an unknown recipe is reported below
            if not get_recipe(raw["recipe"]).uses_data:
                raw["dataset"] = OWN_DATA
    strategy = raw.get("strategy")
    name = strategy.get("name") if isinstance(strategy, Mapping) else strategy
    if isinstance(name, str) and name not in list_strategies():
        raise SpecError(f"strategy.name: unknown strategy {name!r} ({closest_key(name, list_strategies())})")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(describe_errors(exc.errors(), SweepSpec)) from None
    if spec.target is not None and spec.target.criterion not in list_rules():
        criterion = spec.target.criterion
        raise SpecError(
            f"objective.target.criterion: unknown decision rule {criterion!r} ({closest_key(criterion, list_rules())})"
        )
    try:
        recipes = [get_recipe(name) for name in spec.recipe_names]
        if any(r.uses_data for r in recipes):
            get_dataset_spec(spec.dataset)
        check_executor(spec.executor.name, spec.executor.options)
        check_callbacks(spec.callbacks)
    except HotlapError as exc:
        raise SpecError(str(exc)) from None
    if len(recipes) > 1:
        _check_spanning(spec, recipes)
    for recipe in recipes:
        check_configs(spec, recipe)
    spec, costs = _costs(spec, recipes)
    declared = [*_common_metrics(spec, recipes), *costs]
    if spec.score:
        declared.append(_score_metric(spec, declared))
    spec = resolve_metrics(spec, [m.to_plain() for m in declared])
    strategy_class(spec.strategy.name).check_spec(spec)
    _check_packing(spec)
    _check_pruning(spec)
    _check_checkpoints(spec, recipes)
    _check_reweighting(spec, recipes[0])
    spec._notices.extend(
        f"notice: {old} is now {new} ({RENAMED[new]}); the old name still works"
        for old, new in OLD_NAMES.items()
        if old in raw
    )
    return spec


RENAMED = {
    "keep_artifacts": "every artifact of a run",
    "reweight": "the recipe's re-weighting field's values",
}


def _score_metric(spec: SweepSpec, declared: list[Metric]) -> Metric:
    """`score`: the weighted sum of the metrics `score:` names, each of them measured."""
    names = [m.name for m in declared]
    if SCORE in names:
        raise SpecError(
            f"score: the recipe reports a metric named {SCORE} already; it cannot be a weighted sum too"
        )
    unknown = [name for name in spec.score if name not in names]
    if unknown:
        raise SpecError(f"score: unknown metric {unknown[0]!r} ({closest_key(unknown[0], names)})")
    terms = " + ".join(f"{weight:g} x {name}" for name, weight in spec.score.items())
    return Metric(SCORE, "", "maximize", "score", "run", f"weighted sum: {terms}")


def _check_packing(spec: SweepSpec) -> None:
    """Runs packed several to a GPU disturb each other's times: a sweep that minimizes a time
    must say `timing: packed` to accept that (its report then says so)."""
    from hotlap.executors.cluster import packing

    share = spec.executor.options.get("gpus_per_run") if spec.executor.name == "ray" else None
    if not isinstance(share, int | float) or isinstance(share, bool) or packing(share) < 2:
        return
    timed = [o.metric for o in spec.objective or [] if spec.metric(o.metric).kind == "time"]
    if timed and spec.timing != "packed":
        raise SpecError(
            f"executor.gpus_per_run {share:g} packs {packing(share)} runs on a GPU, which disturbs their "
            f"times, and this sweep minimizes {timed[0]}: give timing: packed to accept times not "
            "comparable with solo runs, or gpus_per_run: 1"
        )


def _check_pruning(spec: SweepSpec) -> None:
    """The pruner stops a run from inside its epoch callback, which the in-process executor calls
    in the driver: a remote worker's run cannot be stopped that way yet."""
    if spec.pruning is not None and spec.executor.name != "inprocess":
        raise SpecError(
            f"pruning: runs are stopped at an epoch in the driver's own process; executor "
            f"{spec.executor.name} runs them elsewhere (use executor: inprocess, or drop pruning)"
        )


def _check_reweighting(spec: SweepSpec, recipe: Recipe) -> None:
    """`reweight` asks the recipe's re-weighting hook (the airbench family's TTA views): a recipe
    without one is refused before anything runs, and the hook checks the values."""
    if spec.reweight is None or spec.derived_from is not None:
        return
    if recipe.reweighting is None:
        raise SpecError(
            f"reweight: recipe {recipe.name} stores nothing to re-weight offline (the airbench family does)"
        )
    try:
        recipe.reweighting.check(spec.reweight_values(), "reweight")
    except HotlapError as exc:
        raise SpecError(str(exc)) from None
    suffix = recipe.reweighting.suffix
    if len(spec.name) + len(suffix) > MAX_NAME:  # found before any run, not once the sweep has trained
        raise SpecError(
            f"name: with reweight the derived sweep is named {spec.name}{suffix}, longer than "
            f"{MAX_NAME} characters; shorten the name to {MAX_NAME - len(suffix)} at most"
        )


def _check_checkpoints(spec: SweepSpec, recipes: list[Recipe]) -> None:
    """Mid-run checkpoints need a recipe that resumes from one, and a worker that can reach the
    sweep's folder (the in-process executor's)."""
    from hotlap.recipes import list_recipes

    if spec.checkpoint_every is None:
        return
    cannot = [r.name for r in recipes if not r.resumable]
    if cannot:
        can = ", ".join(r.name for r in list_recipes() if r.resumable) or "none"
        raise SpecError(
            f"checkpoint_every: recipe {cannot[0]} does not resume from a checkpoint (those that do: {can})"
        )
    if spec.executor.name != "inprocess":
        raise SpecError(
            f"checkpoint_every: checkpoints are kept in the sweep's folder, which executor "
            f"{spec.executor.name}'s workers may not reach (use executor: inprocess)"
        )


def _costs(spec: SweepSpec, recipes: list[Recipe]) -> tuple[SweepSpec, list[Metric]]:
    """The cost metrics to measure: those `costs` lists and those the objective or the target
    names, each measured by a cost probe (hotlap.probes), none for a recipe that runs a program of
    its own."""
    from hotlap.metrics import get_metric
    from hotlap.probes import cost_names

    known = cost_names()
    unknown = [name for name in spec.costs if name not in known]
    if unknown:
        raise SpecError(f"costs: unknown cost metric {unknown[0]!r} ({closest_key(unknown[0], list(known))})")
    named = {o.metric for o in spec.objective or []} | {c.metric for c in spec.constraints} | set(spec.score)
    if spec.target is not None and spec.target.metric is not None:
        named.add(spec.target.metric)
    wanted = [name for name in known if name in spec.costs or name in named]
    if wanted and not all(r.uses_data for r in recipes):
        raise SpecError(
            "costs: a program run by the script recipe measures its own costs (report them as metrics)"
        )
    if wanted != spec.costs:
        spec = spec.model_copy(update={"costs": wanted})
    return spec, [get_metric(name) for name in wanted]


def _check_spanning(spec: SweepSpec, recipes: list[Recipe]) -> None:
    """A sweep over several recipes: each trains on the sweep's dataset, and what needs one
    recipe (offline re-weighting, a shared training key) is refused in one line."""
    own = [r.name for r in recipes if not r.uses_data]
    if own:
        raise SpecError(f"recipe {own[0]} runs its own program and cannot share a sweep with other recipes")
    if spec.reweight is not None:
        raise SpecError("reweight: a sweep over several recipes cannot re-weight offline yet")


def _common_metrics(spec: SweepSpec, recipes: list[Recipe]) -> list[Metric]:
    """The metrics every recipe of the sweep reports, in the first recipe's order (a config is
    judged on what all of them measure)."""
    declared = [r.metrics_of(resolve_config(r.config_cls, spec.base)) for r in recipes]
    common = [m for m in declared[0] if all(m in other for other in declared[1:])]
    if not common:
        raise SpecError(f"the recipes {', '.join(r.name for r in recipes)} report no metric in common")
    return common


def shadowed(spec: SweepSpec) -> list[str]:
    """What the user should hear before a sweep runs: base keys that the space replaces in every
    config (`base.lr=30` with `lr` swept is ignored), and old key names, one sentence each."""
    return [
        *(
            f"warning: base.{key}={spec.base[key]!r} is ignored: {key} is swept in space, whose values "
            "replace it"
            for key in sorted(set(spec.base) & set(spec.space))
        ),
        *spec._notices,  # old key names (parse_spec)
    ]


def resolve_metrics(spec: SweepSpec, declared: list[dict[str, Any]]) -> SweepSpec:
    """Fill in the metrics, the default objective and the target's metric; check every metric name."""
    spec = SweepSpec.model_validate({**spec.to_plain(), "metrics": declared})
    metrics = {m.name: m for m in spec.metric_defs()}
    updates: dict[str, Any] = {}
    target = _resolved_target(spec, metrics) if spec.target is not None else None
    if target is not None:
        updates["target"] = target
    objective = spec.objective
    if objective is None:
        objective = updates["objective"] = _default_objective(metrics, target)
    for entry in objective:
        if entry.metric not in metrics:
            raise SpecError(f"objective: unknown metric {entry.metric!r} ({_known(metrics)})")
        natural = metrics[entry.metric].direction
        if entry.direction != natural:
            raise SpecError(
                f"objective: {entry.metric} is {natural}d by its definition; write {{{natural}: {entry.metric}}}"
            )
    if target is not None and target.metric in {o.metric for o in objective}:
        raise SpecError(f"objective: {target.metric} is the target; minimize a time or a cost instead")
    for i, constraint in enumerate(spec.constraints):
        if constraint.metric not in metrics:
            raise SpecError(
                f"constraints.{i}.metric: unknown metric {constraint.metric!r} ({_known(metrics)})"
            )
    return spec.model_copy(update=updates) if updates else spec


def _resolved_target(spec: SweepSpec, metrics: dict[str, Metric]) -> Any:
    """The spec's target with its metric named (default: the recipe's first), checked against it."""
    target = spec.target
    assert target is not None
    name = target.metric or next(iter(metrics))
    if name not in metrics:
        raise SpecError(f"objective.target.metric: unknown metric {name!r} ({_known(metrics)})")
    metric = metrics[name]
    if metric.scope == "config":
        raise SpecError(
            f"objective.target: {name} is the same for every seed of a config, nothing to decide with "
            "confidence; minimize it instead"
        )
    if target.within is not None:
        _check_within(spec, name, metric)
    elif metric.direction == "maximize" and target.at_least is None:
        raise SpecError(f"objective.target: {name} is maximized; give at_least, not at_most")
    if metric.direction == "minimize" and target.at_most is None:
        raise SpecError(f"objective.target: {name} is minimized; give at_most, not at_least")
    if metric.kind == "fraction" and not 0 < target.threshold < 1:
        which = next(k for k in ("at_least", "at_most", "within") if getattr(target, k) is not None)
        raise SpecError(f"objective.target.{which}: {name} is a fraction; give a value in (0, 1)")
    return target.model_copy(update={"metric": name})


def _default_objective(metrics: dict[str, Metric], target: Any) -> list[Objective]:
    """With a target: the fastest config that reaches it (a time, else any minimized metric);
    without: the recipe's first metric."""
    if target is None:
        first = next(iter(metrics.values()))
        return [Objective(metric=first.name, direction=first.direction)]
    minimized = (m for m in metrics.values() if m.direction == "minimize" and m.name != target.metric)
    cost = next((m for m in metrics.values() if m.kind == "time"), None) or next(minimized, None)
    if cost is None:
        raise SpecError(f"objective: with a target, name a metric to minimize ({_known(metrics)})")
    return [Objective(metric=cost.name, direction="minimize")]


def _check_within(spec: SweepSpec, name: str, metric: Any) -> None:
    """A target relative to the baseline compares every config with it on the same seeds."""
    if spec.baseline is None:
        raise SpecError(
            "objective.target.within: relative to the baseline; give baseline: {} (or its overrides)"
        )
    if spec.racing is not None:
        raise SpecError(
            "objective.target.within: each config is paired with the baseline on every seed; give a fixed "
            "number of seeds (seeds: 10), not racing"
        )
    if spec.target is not None and not get_rule(spec.target.criterion).relative:
        raise SpecError(
            f"objective.target.within: judged on the paired differences; criterion {spec.target.criterion} "
            "judges a target of its own: give at_least or at_most"
        )
    if spec.verify is not None:
        raise SpecError(
            "objective.target.within: verify on fresh seeds is not supported with a relative target"
        )


def _known(metrics: Mapping[str, Any]) -> str:
    return f"the recipe reports: {', '.join(metrics)}"
