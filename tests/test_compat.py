"""A store written by the release before the spec / engine / analysis packages (tests/data/store-0.1.0,
made by hotlap 0.1.0 with the outputs it printed) opens, reports and resumes as it did then, from
any folder: the stored sweep folder is found in the store's own sweeps/ folder."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hotlap.envinfo import device_name
from hotlap.spec.sugar import OLD_NAMES

from .conftest import hotlap_script

FIXTURE = Path(__file__).parent / "data" / "store-0.1.0"
SWEEP = "compat-20261202-123302"


@pytest.fixture
def store(tmp_path) -> Path:
    copy = tmp_path / "copied" / "store"
    shutil.copytree(FIXTURE / "store", copy)
    return copy


def _hotlap(args: list[str], store: Path, env: dict[str, str], cwd: Path) -> str:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [hotlap_script(), *args, "--workdir", str(store)],
        cwd=cwd,
        env={**env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _without_folder(text: str) -> dict[str, str]:
    """The status panel's rows (key -> its text, wrapped lines joined) less its `directory` row
    (the store was copied elsewhere) and this release's verified time claim."""
    rows: dict[str, str] = {}
    key = "title"
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) != 2:
            rows[line.strip()] = ""
            continue
        key = cells[0] or key
        rows[key] = f"{rows.get(key, '')} {cells[1]}".strip()
    rows.pop("directory", None)
    return {k: _without_time_claim(" " + v).strip() for k, v in rows.items()}


def _reports(store: Path, env: dict[str, str], cwd: Path, forms: tuple[str, ...]) -> dict[str, str]:
    return {form: _hotlap(["report", SWEEP, "--format", form], store, env, cwd) for form in forms}


ASSUMES = (
    "; assumes roughly normal runs, or configs near the target with a common run-to-run spread. The "
    "confidence intervals shown are naive after racing: a raced config's seed count depends on its runs, "
    "and the fastest is chosen by them (verification's are free of both)."
)


RUNS_LINE = re.compile(r"(\d+ runs; giving every config all \d+ seeds would have taken \d+)[:;] .*?\.$", re.M)


def _without_savings(text: str) -> str:
    """The runs line less what racing saved: this release compares racing with the fixed design of
    equal error and power (computed), which the stored outputs do not hold."""
    return RUNS_LINE.sub(r"\1.", text)


TIME_CLAIM = re.compile(
    r" \w+ of \w+( \(\w+\))? minus the baseline's, paired on \d+ fresh seeds: [^\n]*?at level [\d.]+\."
)


NAIVE = "ci_naive_after_racing"


def _without_column(text: str, name: str) -> str:
    """The CSV without column `name` (this release's), written as the report writes it."""
    rows = list(csv.reader(io.StringIO(text)))
    index = rows[0].index(name)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([r[:index] + r[index + 1 :] for r in rows])
    return buffer.getvalue()


def _without_time_claim(text: str) -> str:
    """Less the verified time claim this release adds to the recommendation (the verified config
    against the baseline on the fresh seeds, paired), which the stored outputs do not hold."""
    return TIME_CLAIM.sub("", text)


def _this_release(expected: str) -> str:
    """What this release says differently: the p column names its metric, the guarantee line says
    what it assumes (and the stored metrics their resolution, unknown: 0)."""
    return (
        expected.replace("| p (Holm) |", "| p tta_accuracy (Holm) |")
        .replace("Bonferroni over the ordered pairs.", "Bonferroni over the ordered pairs" + ASSUMES)
        .replace(
            'Bonferroni over the ordered pairs"', "Bonferroni over the ordered pairs" + ASSUMES[:-1] + '"'
        )
    )


def _same_report(form: str, text: str, expected: str) -> None:
    """Identical, but for this release's wording (`_this_release`) and two changes in the JSON's
    copy of the spec: it no longer lists the other strategies' options as null (a strategy's
    options are its own: grid has none), and the keys renamed since (`keep_logits` is `keep_artifacts`,
    `tta_weights` is `reweight`: hotlap.spec.sugar.OLD_NAMES); and a
    resumed sweep's environment names the code and the machine that resumed it."""
    expected, text = _this_release(expected), _without_time_claim(text)
    if form == "csv":
        text = _without_column(text, NAIVE)
    if form != "json":
        if form == "md":
            assert "a fixed design of equal error and power (" in text
            text, expected = _without_savings(text), _without_savings(expected)
        assert text == expected, form
        return

    def unset(node: Any) -> Any:
        if isinstance(node, dict):
            strategy = node.get("strategy")
            if isinstance(strategy, dict):
                node["strategy"] = {
                    k: v for k, v in strategy.items() if v is not None or k in ("seed", "trials")
                }
            if {"name", "kind", "direction"} <= set(node):  # a metric's definition: its resolution
                node = {**node, "resolution": node.get("resolution", 0.0)}
            return {OLD_NAMES.get(k, k): unset(v) for k, v in node.items()}
        return [unset(v) for v in node] if isinstance(node, list) else node

    got, want = json.loads(text), unset(json.loads(expected))
    assert got["runs"].pop("fixed_design")["seeds_per_config"] > 0  # this release's addition
    for rows in (got["configs"], got["verification"]["configs"]):  # this release's: naive CIs labelled
        for row in rows:
            assert row.pop(NAIVE) is (row in got["configs"] and got["spec"]["racing"] is not None)
    assert got["spec"].pop("pruning") is None  # this release's key: per-epoch pruning, off
    assert got["spec"].pop("checkpoint_every") is None  # this release's: mid-run checkpoints, off
    assert got["spec"].pop("log_every") is None  # this release's: the logging evaluation's period
    assert got["spec"].pop("run_folders") == "all"  # this release's: a folder for every run
    assert isinstance(got.pop("importance"), dict)  # this release's: where configs matter
    explained = got.pop("importance_explained")  # this release's: how much the keys explain
    assert explained is None or 0 <= explained <= 1
    check = got["verification"].pop("time_check")  # this release's: the verified time claim
    assert check is None or (check["holds"] and check["pairs"] == len(got["verification"]["seeds"]))
    for report in (got, want):
        # a resumed sweep's: the machine that resumed it (threads: the tests run one per process)
        for machine in ("git_commit", "platform", "cpu_count", "torch_threads", "device_name", "hostname"):
            report.get("environment", {}).pop(machine, None)
    assert got == want


def test_a_store_of_the_previous_release_reports_as_it_did(store, plugin_env, tmp_path):
    elsewhere = tmp_path / "elsewhere"  # not the folder the store was made from
    for form, text in _reports(store, plugin_env, elsewhere, ("md", "csv", "json")).items():
        _same_report(form, text, (FIXTURE / f"report.{form}").read_text())
    status = _hotlap(["status", SWEEP], store, plugin_env, elsewhere)
    assert _without_folder(status) == _without_folder((FIXTURE / "status.txt").read_text())


def test_a_store_of_the_previous_release_resumes_to_the_same_answer(store, plugin_env, tmp_path):
    # The fixture's runs name the CPU of the machine that made them, and a resume on another model
    # refuses (times of two devices are not comparable): the copy's runs name this machine's.
    with sqlite3.connect(store / "hotlap.db") as db:
        db.execute("UPDATE runs SET device = ?", (device_name("cpu"),))
    db.close()
    elsewhere = tmp_path / "elsewhere"
    _hotlap(["resume", SWEEP, "budget.max_runs=1000"], store, plugin_env, elsewhere)
    for form, text in _reports(store, plugin_env, elsewhere, ("md", "json")).items():
        _same_report(form, text, (FIXTURE / f"final.{form}").read_text())
    status = _hotlap(["status", SWEEP], store, plugin_env, elsewhere)
    assert _without_folder(status) == _without_folder((FIXTURE / "final_status.txt").read_text())
    assert not (elsewhere / "store").exists()  # nothing written where the command ran
