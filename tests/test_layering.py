"""The layout: no import cycles, lower layers import no higher one, and no package imports one
further along the data flow."""

from __future__ import annotations

import ast
from pathlib import Path

import hotlap

# --- layering ----------------------------------------------------------------------------------


def _imports(package: Path) -> dict[str, set[str]]:
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and modules[target].name != "__init__.py":
                    graph[name].add(target)
    return {m: deps for m, deps in graph.items() if modules[m].name != "__init__.py"}


def test_no_import_cycles_and_lower_layers_import_no_higher_one():
    graph = _imports(Path(hotlap.__file__).parent)
    seen: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        seen[module] = 1
        for dep in graph.get(module, ()):
            assert seen.get(dep) != 1, (
                "import cycle: " + " -> ".join([*path[path.index(dep) :], dep]) if dep in path else dep
            )
            if dep not in seen:
                visit(dep, [*path, dep])
        seen[module] = 2

    for module in sorted(graph):
        if module not in seen:
            visit(module, [module])
    higher = (
        "hotlap.spec",
        "hotlap.engine",
        "hotlap.analysis",
        "hotlap.strategies",
        "hotlap.report",
        "hotlap.cli",
        "hotlap.callbacks",
    )
    lower_layers = (
        "hotlap.store",
        "hotlap.records",
        "hotlap.stats",
        "hotlap.comparisons",
        "hotlap.config",
        "hotlap.decisions",
        "hotlap.rules",
        "hotlap.calibration",
        "hotlap.metrics",
        "hotlap.registry",
        "hotlap.memory",
    )
    for module, deps in graph.items():
        if module.startswith(lower_layers):
            assert not [d for d in deps if d.startswith(higher)], module
    # along the data flow: spec -> engine -> analysis -> report -> api -> cli, none looking back up
    above = {
        "hotlap.spec": ("hotlap.engine", "hotlap.analysis", "hotlap.report", "hotlap.api", "hotlap.cli"),
        "hotlap.engine": ("hotlap.report", "hotlap.api", "hotlap.cli"),
        "hotlap.analysis": ("hotlap.engine", "hotlap.report", "hotlap.api", "hotlap.cli"),
        "hotlap.report": ("hotlap.engine", "hotlap.api", "hotlap.cli"),
        "hotlap.api": ("hotlap.cli",),
    }
    for module, deps in graph.items():
        for layer, forbidden in above.items():
            if module == layer or module.startswith(layer + "."):
                assert not [d for d in deps if d.startswith(forbidden)], (module, deps)
