"""The package: `python -m build` makes a wheel that installs into a clean virtual environment,
where its `hotlap` runs `--version`, `recipes`, a tiny sweep and its report (`make package-check`,
run by CI, builds the sdist too and installs the wheel with its dependencies).

Here the clean environment borrows the test environment's dependencies (torch and the rest, through
a .pth line after its own site-packages) so that nothing is downloaded; what is tested is the
package itself: its modules, its data files (the HTML template), its entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

SPEC = """\
name: wheel-check
recipe: airbench94
dataset: digits
device: cpu
base: {width: 0.125, epochs: 1, batch_size: 256, lr: 30}
space: {label_smoothing: [0.1, 0.2]}
seeds: 2
keep_weights: false
executor: {name: inprocess, warmup: false}
"""


def _run(*args: object, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_runs_a_tiny_sweep(tmp_path):
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, ROOT)
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"hotlap/report/templates/report.html.j2", "hotlap/testing/__init__.py"} <= names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
    )
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    )
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HOTLAP_PLUGINS")}
    env |= {"HOTLAP_HOME": str(tmp_path / "runs"), "COLUMNS": "160"}
    where = _run(python, "-c", "import hotlap; print(hotlap.__file__)", env=env, cwd=tmp_path).stdout
    assert where.startswith(str(venv)), where  # the wheel's copy, not the checkout's
    hotlap = venv / "bin" / "hotlap"
    assert _run(hotlap, "--version", env=env, cwd=tmp_path).stdout.strip().endswith("0.1.0")
    assert "airbench94" in _run(hotlap, "recipes", env=env, cwd=tmp_path).stdout
    (tmp_path / "spec.yaml").write_text(SPEC)
    _run(hotlap, "sweep", "spec.yaml", env=env, cwd=tmp_path)
    report = _run(hotlap, "report", "wheel-check", env=env, cwd=tmp_path).stdout
    assert "label_smoothing" in report
    (page,) = (tmp_path / "runs" / "sweeps").glob("wheel-check-*/report/report.html")
    assert "<table" in page.read_text()
