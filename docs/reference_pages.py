"""The reference pages, generated from the code at every docs build (docs/hooks.py adds them to the
site): the spec schema from its pydantic models, every recipe's config fields, every metric, every
registry's entries and the CLI from typer. Nothing here is written by hand, so nothing is written
twice: a field's description lives on the field.

`pages()` returns {path under docs/: markdown}; tests/test_docs.py compares their keys with the
registries and models.
"""

from __future__ import annotations

import importlib
import inspect
import json
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# Each extension point: its registry and where to read how to add one.
REGISTRIES = {
    "recipe": ("hotlap.recipes.base", "RECIPES", "extending/recipe.md"),
    "dataset": ("hotlap.data.base", "DATASETS", "extending/index.md"),
    "metric": ("hotlap.metrics", "METRICS", "extending/metric.md"),
    "strategy": ("hotlap.strategies.base", "STRATEGIES", "extending/strategy.md"),
    "executor": ("hotlap.executors.base", "EXECUTORS", "extending/executor.md"),
    "callback": ("hotlap.callbacks.base", "CALLBACKS", "extending/callback.md"),
    "report format": ("hotlap.report.formats", "FORMATS", "extending/report-format.md"),
    "cost probe": ("hotlap.probes", "PROBES", "extending/cost-probe.md"),
    "decision rule": ("hotlap.rules", "RULES", "extending/decision-rule.md"),
}
# Importing these registers every built-in entry.
_REGISTERING = ["hotlap.recipes", "hotlap.data", "hotlap.strategies", "hotlap.executors", "hotlap.callbacks"]
_REGISTERING += ["hotlap.report", "hotlap.costs", "hotlap.rules"]


def registry(kind: str) -> Any:
    for module in _REGISTERING:
        importlib.import_module(module)
    module, attr, _ = REGISTRIES[kind]
    return getattr(importlib.import_module(module), attr)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(value: Any) -> str:
    """A default as a spec would write it (YAML-ish JSON: null, true, {})."""
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return f"`{text}`"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return _value(field.default_factory())  # type: ignore[call-arg]
    if field.default is PydanticUndefined:
        return "required"
    return _value(field.default)


def _type(annotation: Any) -> str:
    """A field's type in a word or two: `int`, `float | null`, `list`, `{...}`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    if origin in (list, tuple):
        return "list"
    if origin is dict or annotation is dict:
        return "mapping"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def field_table(model: type[BaseModel], prefix: str = "") -> str:
    """One row per field: key, type, default, description."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        description = _cell(field.description or "")
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        kind = (
            _cell(extra["written"]) if "written" in extra else _type(field.annotation)
        )  # as a spec writes it
        rows.append(f"| `{prefix}{name}` | {kind} | {_default(field)} | {description} |")
    return "\n".join(rows) + "\n"


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _summary(entry: Any) -> str:
    """An entry's one line: its summary or description, else its docstring's first line."""
    for attr in ("summary", "description"):
        text = getattr(entry, attr, None)
        if isinstance(text, str) and text:
            return text
    func = getattr(entry, "render", entry)
    doc = inspect.getdoc(func) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


# Parts of the stored spec a spec writes elsewhere, and parts only hotlap writes.
_WRITTEN_AS = {"target": "objective.target", "racing": "seeds"}
_STORED_ONLY = {"objective", "metrics"}


def spec_page() -> str:
    from hotlap.spec.schema import SweepSpec

    out = [
        "# The sweep spec\n",
        "Every key of a sweep spec, with its type, default and meaning, generated from the pydantic "
        "models that validate it (`hotlap.spec.schema.SweepSpec`). A key can be overridden on the "
        "command line with a dotted path (`hotlap sweep SPEC base.width=0.25 seeds=3`). Keys marked "
        "*written by hotlap* are the stored form of the sugar a spec is written in "
        "(`seeds: {min, max, step}`, `objective: {target: ...}`); `script:` at the top level becomes "
        "`base.script` (see the recipe `script`).\n",
        field_table(SweepSpec),
    ]
    seen: set[type[BaseModel]] = set()
    for name, field in SweepSpec.model_fields.items():
        if name in _STORED_ONLY:
            continue
        written = _WRITTEN_AS.get(name, name)
        for model in _models_in(field.annotation):
            if model in seen:
                continue
            seen.add(model)
            title = f"## `{written}`: {model.__name__}\n"
            doc = inspect.getdoc(model) or ""
            out += [title, (doc + "\n") if doc and model.__doc__ else "", field_table(model, f"{written}.")]
    out.append(_strategy_options())
    out.append(_executor_options())
    return "\n".join(out)


def _executor_options() -> str:
    """Each executor's options: its constructor's keyword arguments (what `executor_options` checks)."""
    out = ["## Each executor's own options\n", "Beside `name`, in `executor:`.\n"]
    for name, factory in registry("executor").items():
        rows = ["| key | default |", "|---|---|"]
        for param in inspect.signature(factory).parameters.values():
            if param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
                default = "required" if param.default is param.empty else _value(param.default)
                rows.append(f"| `executor.{param.name}` | {default} |")
        out.append(f"### `{name}`\n\n" + "\n".join(rows) + "\n")
    return "\n".join(out)


def _strategy_options() -> str:
    from hotlap.strategies.base import NoOptions

    out = ["## Each strategy's own options\n", "Beside `name`, `seed` and `trials`, in `strategy:`.\n"]
    for name, cls in registry("strategy").items():
        if cls.options is NoOptions or not cls.options.model_fields:
            out.append(f"- `{name}`: none\n")
        else:
            out.append(f"### `{name}`\n\n" + field_table(cls.options, "strategy."))
    return "\n".join(out)


def recipes_page() -> str:
    out = [
        "# Recipes\n",
        "Every registered recipe's config fields, with defaults and descriptions: what "
        "`hotlap show RECIPE` prints. Any field is an override (`hotlap run airbench94 lr=12`) and a "
        "key a sweep can sweep. The recipes themselves are explained in "
        "[the airbench family and ResNet](../explanation/recipes.md).\n",
    ]
    for recipe in registry("recipe").entries():
        metrics = ", ".join(f"`{m.name}`" for m in recipe.metrics)
        out.append(f"## `{recipe.name}`\n\n{recipe.summary}\n")
        facts = [f"- metrics: {metrics} (the first is the default objective)"]
        if recipe.target is not None:
            facts.append(f"- target: {recipe.target:g} (`hotlap run` judges against it by default)")
        if recipe.smoke:
            smoke = " ".join(f"{k}={v}" for k, v in recipe.smoke.items())
            facts.append(f"- smoke size (CPU, digits): `{smoke}`")
        if recipe.eval_fields:
            facts.append("- evaluation only: " + ", ".join(f"`{f}`" for f in recipe.eval_fields))
        out.append("\n".join(facts) + "\n")
        out.append(field_table(recipe.config_cls))
    return "\n".join(out)


def metrics_page() -> str:
    rows = ["| metric | unit | direction | kind | scope | meaning |", "|---|---|---|---|---|---|"]
    for m in registry("metric").entries():
        rows.append(
            f"| `{m.name}` | {m.unit} | {m.direction} | {m.kind} | {m.scope} | {_cell(m.description)} |"
        )
    return (
        "# Metrics\n\nEvery registered metric. Kind `fraction` is shown in percent and bounded in "
        "[0, 1]; scope `config` is the same for every seed (it can be minimized but not made a "
        "target). A recipe or a plugin declares more ([a metric of your own](../extending/metric.md)).\n\n"
        + "\n".join(rows)
        + "\n"
    )


def registries_page() -> str:
    out = [
        "# Registries\n",
        "Every extension point is a `hotlap.registry.Registry`. Plugins add entries through the "
        "entry-point group `hotlap.plugins` or `$HOTLAP_PLUGINS` ([Extending hotlap](../extending/index.md)).\n",
    ]
    for kind, (module, attr, page) in REGISTRIES.items():
        reg = registry(kind)
        out.append(f"## {kind}\n\n`{module}.{attr}`; adding one: [{page}](../{page})\n")
        out.append("| name | what |\n|---|---|")
        out += [f"| `{name}` | {_cell(_summary(entry))} |" for name, entry in reg.items()]
        out.append("")
    return "\n".join(out)


def cli_page() -> str:
    import click
    import typer

    from hotlap.cli import app

    group = typer.main.get_command(app)
    out = [
        "# Command line\n",
        "Every command with its arguments and options, generated from the typer app "
        "(`hotlap COMMAND --help` prints the same). Bad input is one line on stderr and exit code 2.\n",
    ]
    ctx = click.Context(group, info_name="hotlap")
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        sub = click.Context(command, info_name=name, parent=ctx)
        usage = " ".join(command.collect_usage_pieces(sub))
        out.append(f"## `hotlap {name}`\n\n{inspect.cleandoc(command.help or '')}\n")
        out.append(f"```\nhotlap {name} {usage}\n```\n")
        if command.epilog:
            examples = [line for line in command.epilog.split("\n\n")[1:] if line]
            out.append("```bash\n" + "\n".join(examples) + "\n```\n")
        rows = ["| argument or option | meaning | default |", "|---|---|---|"]
        for param in command.params:
            names = ", ".join(param.opts + list(getattr(param, "secondary_opts", [])))
            default = param.default if param.show_default is not False else None
            shown = "" if default in (None, (), [], False) else f"`{default}`"
            rows.append(f"| `{names}` | {_cell(getattr(param, 'help', '') or '')} | {shown} |")
        out.append("\n".join(rows) + "\n")
    return "\n".join(out)


def pages() -> dict[str, str]:
    return {
        "reference/spec.md": spec_page(),
        "reference/recipes.md": recipes_page(),
        "reference/metrics.md": metrics_page(),
        "reference/registries.md": registries_page(),
        "reference/cli.md": cli_page(),
    }
