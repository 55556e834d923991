"""The documentation: the site builds with --strict (no broken link or reference), its generated
reference names every spec key, recipe field, metric, registry entry and command, every example
plugin of the extension pages passes the conformance kit and drives a sweep, and the README is
short with links that resolve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "docs"))  # reference_pages: the registries the reference lists
EXAMPLES = ROOT / "docs" / "examples"

# What a clean process registers (no test plugins): the truth the reference must list.
_REGISTERED = """
import json, sys
sys.path.insert(0, "docs")
import reference_pages as r
from hotlap.cli import app
import typer, click
group = typer.main.get_command(app)
print(json.dumps({
    "recipes": {x.name: list(x.config_cls.model_fields) for x in r.registry("recipe").entries()},
    "registries": {kind: r.registry(kind).names() for kind in r.REGISTRIES},
    "commands": group.list_commands(click.Context(group)),
}))
"""


def _text(path: Path) -> str:
    """A built page's text, tags dropped."""
    return unescape(re.sub(r"<[^>]+>", "", path.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    _python("-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out), NO_MKDOCS_2_WARNING="1")
    return out


def _python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """This interpreter run in the repository's folder with `args` and `env` added; it must succeed."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_the_generated_reference_lists_every_key_metric_entry_and_command(site):
    from hotlap.spec.schema import SweepSpec

    registered = json.loads(_python("-c", _REGISTERED).stdout)
    spec = _text(site / "reference" / "spec" / "index.html")
    assert [key for key in SweepSpec.model_fields if key not in spec] == []
    for key in ("strategy.trials", "target.criterion", "verify.candidates", "budget.max_runs"):
        assert key in spec
    recipes = _text(site / "reference" / "recipes" / "index.html")
    for name, fields in registered["recipes"].items():
        section = recipes[recipes.index(name) :]
        assert [f for f in fields if f not in section] == [], name
    registries = _text(site / "reference" / "registries" / "index.html")
    for kind, names in registered["registries"].items():
        assert [n for n in names if n not in registries] == [], kind
    metrics = _text(site / "reference" / "metrics" / "index.html")
    assert [n for n in registered["registries"]["metric"] if n not in metrics] == []
    cli = _text(site / "reference" / "cli" / "index.html")
    assert [c for c in registered["commands"] if f"hotlap {c}" not in cli] == []
    api = _text(site / "reference" / "api" / "index.html")
    assert "run_sweep" in api and "check_recipe" in api


# Each example plugin: what the conformance kit checks of it, then a sweep that uses it.
_CHECKS = {
    "mlp_recipe.py": """
from hotlap.testing import check_recipe
check_recipe("mlp", min_score=0.9)
result = run({"recipe": "mlp", "dataset": "digits", "space": {"hidden": [16, 64]}, "base": {"epochs": 2},
              "seeds": 2, "objective": {"target": {"metric": "accuracy", "at_least": 0.5}}})
assert report(result).recommended is not None
""",
    "bops_metric.py": """
from hotlap.testing import check_metric, check_recipe
check_metric("bops")
check_recipe("linear_bops", min_score=0.9)
result = run({"recipe": "linear_bops", "dataset": "digits", "space": {"bits": [4, 8]}, "seeds": 3,
              "base": {"epochs": 20}, "objective": {"target": {"metric": "accuracy", "at_least": 0.5}, "minimize": "bops"}})
table = report(result).table
assert table.loc[table.config_id == report(result).recommended, "bits"].item() == 4
""",
    "one_at_a_time.py": """
from hotlap.spec import parse_spec
from hotlap.strategies import get_strategy
from hotlap.testing import check_strategy
check_strategy("one_at_a_time", workdir)
spec = parse_spec({"name": "ofat", "recipe": "airbench94", "strategy": "one_at_a_time",
                   "space": {"lr": [10, 11, 12], "momentum": [0.8, 0.85, 0.9], "width": [1, 2, 3]}})
assert get_strategy(spec).total() == 7  # 1 + 3 x 2, not the grid's 27
""",
    "threads_executor.py": """
from hotlap.testing import check_executor
check_executor("threads", workers=2)
from hotlap.testing.toy import tiny_spec, tiny_sweep
raw = tiny_spec("threads", executor={"name": "threads", "workers": 2})
assert tiny_sweep(workdir, raw).state == "done"
""",
    "jsonl_callback.py": """
from hotlap.testing import check_callback
check_callback("jsonl", workdir)  # RUNS_JSONL unset: runs-tracked.jsonl in the current folder
lines = (workdir / "runs-tracked.jsonl").read_text().splitlines()
assert len(lines) == 4 and all('"status": "done"' in line for line in lines)  # 2 configs x 2 seeds
""",
    "worst_run_rule.py": """
from hotlap.testing import check_rule
check_rule("worst_run")
""",
    "tsv_format.py": """
from hotlap.testing import check_format
check_format("tsv", workdir)
""",
    "sparsity_probe.py": """
from hotlap.testing import check_probe
check_probe("sparsity")
from hotlap.testing.toy import tiny_spec, tiny_sweep
result = tiny_sweep(workdir, tiny_spec("sparse", costs=["weight_sparsity"]))
from hotlap.store import Store
with Store(workdir) as store:
    assert all(r.values["weight_sparsity"] == 1.0 for r in store.runs(result.sweep.id))  # the toy's zeros
""",
}


@pytest.fixture
def registries_restored():
    """Whatever an example registers is gone after its test (the worker runs other tests next)."""
    import reference_pages

    import hotlap.testing.toy  # noqa: F401  (the kit's own recipe stays: registered once per process)

    kinds = {kind: reference_pages.registry(kind) for kind in reference_pages.REGISTRIES}
    before = {kind: set(reg.names()) for kind, reg in kinds.items()}
    yield
    for kind, reg in kinds.items():
        for name in set(reg.names()) - before[kind]:
            reg.unregister(name)


def test_every_extension_page_example_has_a_check():
    assert sorted(_CHECKS) == sorted(p.name for p in EXAMPLES.glob("*.py"))
    pages = " ".join(p.read_text() for p in (ROOT / "docs" / "extending").glob("*.md"))
    assert [name for name in _CHECKS if f"docs/examples/{name}" not in pages] == []


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(_CHECKS))
def test_each_extension_example_runs(example, tmp_path, monkeypatch, registries_restored):
    """Loaded as `HOTLAP_PLUGINS=docs/examples/FILE.py` loads it, then checked by the kit and used."""
    from hotlap.api import load_report, run_sweep
    from hotlap.plugins import _import_file
    from hotlap.spec import parse_spec

    monkeypatch.chdir(tmp_path)
    _import_file(str(EXAMPLES / example))

    def run(raw):
        raw = {
            "name": "docs-example",
            "device": "cpu",
            "executor": {"name": "inprocess", "warmup": False},
            **raw,
        }
        return run_sweep(parse_spec(raw), workdir=tmp_path / "sweeps")

    def report(result):
        return load_report(result.sweep.id, workdir=tmp_path / "sweeps")

    scope = {"workdir": tmp_path, "run": run, "report": report}
    exec(compile(_CHECKS[example], f"check of {example}", "exec"), scope)


# The extension pages' commands, in the order of the site's menu, run one after another in one
# process (each as `hotlap ...` runs it: its plugins loaded from HOTLAP_PLUGINS, then main()).
_PAGES = [
    "recipe",
    "metric",
    "strategy",
    "executor",
    "callback",
    "decision-rule",
    "report-format",
    "cost-probe",
]
_DRIVER = """
import os, shlex, sys
import hotlap.cli
for line in sys.argv[1:]:
    words = shlex.split(line)
    os.environ.update(w.split("=", 1) for w in words if w.startswith("HOTLAP_PLUGINS="))
    args = words[[w.startswith("HOTLAP_PLUGINS=") for w in words].index(False) + 1 :]
    sys.argv = ["hotlap", *args]
    try:
        hotlap.cli.main()
    except SystemExit as exc:
        if exc.code:
            sys.exit(f"{line}: exit {exc.code}")
"""


def _page_commands() -> list[str]:
    commands = []
    for page in _PAGES:
        text = (ROOT / "docs" / "extending" / f"{page}.md").read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, re.S):
            commands += [
                c for c in block.replace("\\\n", " ").splitlines() if c.startswith("HOTLAP_PLUGINS=")
            ]
    return commands


@pytest.mark.slow
def test_the_extension_pages_commands_run_as_written(tmp_path):
    commands = _page_commands()
    assert len(commands) >= len(_PAGES)
    done = _python(
        "-c", _DRIVER, *commands, HOTLAP_HOME=str(tmp_path), RUNS_JSONL=str(tmp_path / "tracked.jsonl")
    )
    assert "config\tn\tmean_" in done.stdout  # the tsv report
    # 4 configs x 3 seeds (the baseline, the default config, is one of the grid's)
    assert len((tmp_path / "tracked.jsonl").read_text().splitlines()) == 12


def test_the_readme_is_short_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert local and [link for link in local if not (ROOT / link).exists()] == []
    assert "make demo" in readme and "make test" in readme and "make docs" in readme


def test_long_explanations_live_in_the_docs_not_in_module_docstrings():
    """A module docstring says what the module is for in a few lines; the long explanations are the
    docs pages' (no text kept in two places). Recipe modules keep their evidence header: a recipe
    file reads top to bottom like its reference, the facts it matches first."""
    import ast

    long = []
    for path in (ROOT / "src" / "hotlap").rglob("*.py"):
        if path.parent.name == "recipes":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if len(doc.splitlines()) > 15:
            long.append(f"{path.relative_to(ROOT)}: {len(doc.splitlines())} lines")
    assert long == []


def test_every_help_example_parses_as_written():
    """The examples under each command's --help name a command and options it has."""
    import shlex

    import click
    import typer

    from hotlap.cli import app
    from hotlap.cli.examples import _EXAMPLES

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    assert set(_EXAMPLES) == set(group.list_commands(ctx)) - {"recipes", "datasets"}
    for name, lines in _EXAMPLES.items():
        command = group.get_command(ctx, name)
        assert command.epilog and all(line in command.epilog for line in lines)
        for line in lines:
            words = shlex.split(line)
            assert words[:2] == ["hotlap", name], line
            command.make_context(name, words[2:], parent=ctx)  # raises on an unknown option
