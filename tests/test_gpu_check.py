"""The GPU check (benchmarks/gpu_check.py) at its tiny size on the CPU, so that it cannot rot
before the day a GPU is at hand: every section runs or says why not, the bare loop is the same
math as hotlap's airbench94, and the check stops inside its budget."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "gpu_check.py"


def check(out: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--tiny", "--device", "cpu", *options],
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = json.loads((out / "gpu_check.json").read_text())
    return done, figures


@pytest.mark.slow
def test_the_tiny_check_runs_every_section_on_the_cpu(tmp_path):
    done, figures = check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no half-written file
    failed = {name: values.get("error") for name, values in figures.items() if "error" in values}
    assert failed == {}
    # compile is measured on a GPU only; every other section measured something.
    skipped = {name for name, values in figures.items() if "skipped" in values}
    assert skipped == {"compile", "muon"}
    path = figures["cuda_path"]
    assert path["last_epoch_loss"] < path["first_epoch_loss"]
    assert path["precision"] == "fp32"  # the CPU's (fp16 on CUDA: the section checks it there)
    # The bare loop and hotlap's recipe: the same math, so on the CPU the same predictions.
    overhead = figures["overhead"]
    assert overhead["runs_each"] >= 3
    assert overhead["bare_tta_accuracy"] == overhead["hotlap_tta_accuracy"]
    assert math.isfinite(overhead["ratio_hotlap_over_bare"]) and overhead["ratio_hotlap_over_bare"] > 0
    assert overhead["sweep_runs"] >= 2 and overhead["sweep_gap_between_runs_median_s"] >= 0
    assert figures["packing"]["2_at_once_runs_per_hour"] > 0
    assert "| ratio_hotlap_over_bare |" in (tmp_path / "gpu_check.md").read_text()


def test_the_check_skips_what_its_budget_does_not_hold(tmp_path):
    done, figures = check(tmp_path, "--budget", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "torch" in figures["environment"]
    later = {name: values for name, values in figures.items() if name != "environment"}
    assert later and all("needs about" in values["skipped"] for values in later.values())


def test_only_runs_the_sections_named_and_refuses_an_unknown_one(tmp_path):
    """`--only`: a rerun of what a first run skipped or failed, with the environment's section (it
    names the machine); a name that is no section is refused with one line and exit 2."""
    done, figures = check(tmp_path / "a", "--only", "airbench95", "--budget", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(figures) == {"environment", "airbench95"}
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "b"), "--tiny", "--only", "airbench95,nope"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 2 and "expected sections among" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "b").exists()


def test_the_findings_script_refuses_an_unknown_part_in_one_line_and_tables_a_missing_one(tmp_path):
    """benchmarks/gpu_findings.py (the closer look at what the check found): a misspelt part is
    refused before anything runs (exit 2, one line); a part that left no result is named in the
    table as missing, not dropped."""
    findings = SCRIPT.parent / "gpu_findings.py"
    done = subprocess.run(
        [sys.executable, str(findings), str(tmp_path / "out"), "--only", "digits,compile_trce"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "compile_trce" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out" / "findings.md").exists()
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import gpu_findings
    finally:
        sys.path.remove(str(SCRIPT.parent))
    (tmp_path / "digits.json").write_text(json.dumps({"cpu": {"runs": 5}}))
    table = gpu_findings.markdown(tmp_path, ["digits", "muon"])
    assert '| cpu | {"runs": 5} |' in table and "## muon" in table and "no result" in table
