"""The Python API guide's snippets (docs/how-to/python-api.md) run as written: the library's front door (a tiny study from
examples/), and the lower-level one on a stand-in for `make demo`'s store (a `variants-demo` sweep
of airbench94 on digits, tiny), writing nothing outside hotlap-runs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

GUIDE = Path(__file__).parents[1] / "docs" / "how-to" / "python-api.md"
ROOT = GUIDE.parents[2]


def _snippet(which: int = 1) -> str:
    """The `which`-th Python block of the guide (0: the library's front door)."""
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)[which]


@pytest.mark.slow
def test_the_library_snippet_runs_as_written(monkeypatch, capsys):
    """hotlap.load_spec, plan_sweep, run_sweep, load_report and sweep_status, from the repository's
    folder (the spec is examples/variants.yaml); the store is $HOTLAP_HOME's (the tests' own)."""
    monkeypatch.chdir(ROOT)
    exec(compile(_snippet(0), "python-api.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "6"  # two configs (a variant and the baseline) x 3 seeds
    assert "mean_tta_accuracy" in out and "'done': 6" in out
    import hotlap

    report = hotlap.load_report("variants-api")
    assert len(report.table) == 2 and report.recommendation in out


@pytest.mark.slow
def test_the_python_api_snippet_runs_as_written_after_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = {
        "name": "variants-demo",
        "recipe": "airbench94",
        "dataset": "digits",
        "device": "cpu",
        "base": {"width": 0.125, "epochs": 1, "batch_size": 256, "lr": 30},
        "variants": {"baseline": {}, "cyclic_translate": {"translate_schedule": "cyclic"}},
        "seeds": 2,
        "keep_weights": False,
    }
    with Store(tmp_path / "hotlap-runs") as store:
        record, _ = open_sweep(store, parse_spec(spec))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    exec(compile(_snippet(1), "python-api.md", "exec"), {"__name__": "readme"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hotlap-runs"]  # nothing beside it
    assert (tmp_path / "hotlap-runs" / "variants-demo-report" / "report.html").is_file()
    with Store(tmp_path / "hotlap-runs") as store:
        derived = store.require("variants-demo-tta_untranslated_weight")
        assert store.counts(derived.id)["done"] == 3 * 2 * 2  # 3 weightings x 2 variants x 2 seeds
