"""The README's Python API snippet runs as written, on a stand-in for `make demo`'s store (a
`variants-demo` sweep of airbench94 on digits, tiny), and writes nothing outside hotlap-runs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

README = Path(__file__).parents[1] / "README.md"


def _snippet() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


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
    exec(compile(_snippet(), "README.md", "exec"), {"__name__": "readme"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hotlap-runs"]  # nothing beside it
    assert (tmp_path / "hotlap-runs" / "variants-demo-report" / "report.html").is_file()
    with Store(tmp_path / "hotlap-runs") as store:
        derived = store.require("variants-demo-tta_untranslated_weight")
        assert store.counts(derived.id)["done"] == 3 * 2 * 2  # 3 weightings x 2 variants x 2 seeds
