"""Hardening: the races, paths and texts from outside that must never crash hotlap, write where
they should not, or lose what the user needs to read."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from hotlap.analysis.configs import analyze
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep, sweep_lock
from hotlap.errors import HotlapError, RunFailed
from hotlap.executors import InProcessExecutor
from hotlap.executors.inprocess import Worker
from hotlap.recipes import get_recipe
from hotlap.recipes.base import check_learned
from hotlap.report.render import render_markdown
from hotlap.spec import parse_spec
from hotlap.store import Store

from .conftest import hotlap_script

SPEC = {
    "name": "hard",
    "recipe": "toy",
    "dataset": "synthetic:8",
    "device": "cpu",
    "seeds": 2,
    "space": {"x": [0.1, 0.2]},
}
TORCH_OOM = "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory"


def _run(store: Store, raw: dict):
    record, _ = open_sweep(store, parse_spec(raw))
    return Engine(store, record, InProcessExecutor(warmup=False)).run()


@pytest.fixture
def read_only(tmp_path):
    """A read-only tmpfs mount (root can write through permission bits, not through a mount)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_read_only_workdir_or_out_folder_is_one_line_and_stores_nothing(
    cli, read_only, tmp_path, monkeypatch
):
    monkeypatch.setenv("HOTLAP_HOME", str(read_only / "home"))
    code, _, err = cli("run", "toy", "--data", "synthetic:8", "--device", "cpu")
    assert code == 2 and err.count("\n") == 1 and "Read-only file system" in err
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    code, _, err = cli(
        "run", "toy", "--data", "synthetic:8", "--device", "cpu", "--out", str(read_only / "out")
    )
    assert code == 2 and err.count("\n") == 1 and "not writable" in err
    assert not (tmp_path / "home").exists()  # no sweep row left `running`: no store at all
    code, _, err = cli("ls", "--workdir", str(read_only))
    assert code == 2 and "no hotlap store" in err


def test_error_text_with_markup_is_printed_as_it_is(cli, tmp_path, monkeypatch):
    """A run's error with `[/]` (rich's closing tag) and torch's `[enforce fail ...]` must neither
    crash the end of the sweep nor lose text."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    base = {"fail_seed": 0, "fail_text": f" [/] [bold]{TORCH_OOM}"}
    spec.write_text(yaml.safe_dump({**SPEC, "base": base, "max_consecutive_failures": 1}))
    code, out, err = cli("sweep", str(spec))
    assert code == 1, err  # stopped by its failure limit: exit 1, no MarkupError
    flat = " ".join(out.split())
    assert f"[/] [bold]{TORCH_OOM}" in flat and "second line of the error" in flat


def test_a_plugin_that_raises_on_import_is_one_line_naming_it(tmp_path):
    (tmp_path / "badplug.py").write_text("x = 1\nraise RuntimeError('broken [/] plugin')\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "HOTLAP_PLUGINS": "badplug",
        "HOTLAP_HOME": str(tmp_path),
    }
    proc = subprocess.run([hotlap_script(), "ls"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "'badplug' raised RuntimeError: broken [/] plugin at badplug.py:2" in proc.stderr
    debug = subprocess.run(
        [hotlap_script(), "ls", "--debug"], capture_output=True, text=True, env=env, timeout=120
    )
    assert debug.returncode == 2 and "Traceback" in debug.stderr and 'badplug.py", line 2' in debug.stderr


def test_version_prints_without_a_command(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("hotlap ")


def test_ctrl_c_while_the_summary_prints_says_so_and_what_is_stored(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(SPEC))

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("hotlap.cli.driving._print_status", interrupt)
    code, out, _ = cli("sweep", str(spec))
    assert code == 130 and "interrupted while printing the summary" in out and "hotlap report hard-" in out
    monkeypatch.setattr("hotlap.report.render_table", interrupt)
    code, _, err = cli("report", "hard")
    assert code == 130 and "hotlap: interrupted" in err  # a command with no message of its own


def test_a_loss_that_never_leaves_chance_is_a_diverged_run():
    chance = [{"train_loss": 2.3025853}, {"train_loss": 2.3025851}]
    with pytest.raises(RunFailed, match=r"diverged.*ln\(10\)"):
        check_learned(chance, 10)
    check_learned([{"train_loss": 2.3025853}, {"train_loss": 2.2814}], 10)  # it moved: learning
    check_learned([{"train_loss": 2.2814}], 10)  # a barely trained run is a result, not a failure
    check_learned([{"val_acc": 0.1}], 10)  # no train_loss: not judged


@pytest.mark.slow
def test_airbench_at_lr_1e6_is_recorded_failed_not_done_at_chance(digits_data):
    """lr=1e6 collapses airbench94 to constant logits: 10% on digits, loss ln(10) to 7 digits."""
    recipe = get_recipe("airbench94")
    config = recipe.config({**recipe.smoke, "width": 0.125, "epochs": 2, "lr": 1e6})
    with pytest.raises(RunFailed, match="diverged"):
        Worker(digits_data).run(recipe, config, 0, keep_weights=False)


def test_the_report_file_list_has_no_trailing_separator(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    with Store(tmp_path) as store:  # every run fails: no plot is drawn
        _run(store, {**SPEC, "base": {"nan": True}})
    code, out, _ = cli("report", "hard")
    line = " ".join(out[out.index("report files:") :].split())
    assert code == 0 and line.endswith("(report.html, report.csv)"), line


def test_a_store_naming_a_folder_outside_the_workdir_is_not_written_to(tmp_path):
    victim = tmp_path / "victim"
    (victim / "best").mkdir(parents=True)
    (victim / "best" / "keep.txt").write_text("the user's file")
    with Store(tmp_path / "work") as store:
        record, _ = open_sweep(store, parse_spec(SPEC))
        store.db.execute("UPDATE sweeps SET directory = ? WHERE id = ?", (str(victim), record.id))
        crafted = store.sweep(record.id)
        with pytest.raises(HotlapError, match="will not write there"):
            Engine(store, crafted, InProcessExecutor(warmup=False))
    assert (victim / "best" / "keep.txt").read_text() == "the user's file"


def test_a_config_id_that_is_a_path_is_refused(tmp_path):
    with Store(tmp_path) as store:
        _run(store, SPEC)
        store.db.execute("PRAGMA foreign_keys = OFF")  # as a hand-crafted file would have it
        store.db.execute("UPDATE configs SET config_id = '../../escape' WHERE rowid = 1")
        with pytest.raises(HotlapError, match="no config id"):
            store.configs(store.sweeps()[0].id)


def test_the_lock_file_is_never_followed_through_a_link(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate")
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / ".lock").symlink_to(target)
    with pytest.raises(HotlapError, match="symbolic link"), sweep_lock(sweep_dir, "s"):
        pass
    assert target.read_text() == "do not truncate"


def test_variant_names_are_text_in_the_markdown_report(tmp_path):
    raw = {
        **SPEC,
        "space": {},
        "variants": {"<script>alert(1)</script>": {"x": 0.3}, "a|b*c*": {"x": 0.2}},
    }
    with Store(tmp_path) as store:
        result = _run(store, raw)
        sweep = store.sweep(result.sweep.id)
        analysis = analyze(parse_spec(raw), store.configs(sweep.id), store.runs(sweep.id))
    markdown = render_markdown(analysis, sweep)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert r"a\|b\*c\*" in markdown


def test_the_python_floor_has_tarfile_data_filter():
    """Safe extraction needs tarfile's filter="data" (3.11.4+): the package must not say less."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    floor = tuple(int(p) for p in project["requires-python"].removeprefix(">=").split("."))
    assert floor >= (3, 11, 4) and sys.version_info >= floor


def test_a_failed_runs_error_keeps_every_line(tmp_path):
    with Store(tmp_path) as store:
        result = _run(store, {**SPEC, "base": {"fail_seed": 1, "fail_text": "\nCUDA out of memory"}})
        errors = {r.error for r in store.runs(result.sweep.id, status="failed")}
    assert errors == {"ValueError: seed 1 is cursed / CUDA out of memory / second line of the error"}


def test_every_file_and_folder_gets_the_umasks_permissions(cli, tmp_path, monkeypatch):
    """Reports, spec.yaml, env.json, best/ and run folders are shared and served like any file the
    user makes: the permissions of the umask, not the temporary files' 0600 and 0700."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    reference = tmp_path / "reference"
    reference.write_text("x")
    (tmp_path / "reference-dir").mkdir()
    file_mode, folder_mode = (
        reference.stat().st_mode & 0o777,
        (tmp_path / "reference-dir").stat().st_mode & 0o777,
    )
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**SPEC, "keep_weights": True}))
    assert cli("sweep", str(spec))[0] == 0 and cli("report", "hard")[0] == 0
    sweep_dir = next((tmp_path / "home" / "sweeps").iterdir())
    assert (sweep_dir / "best").is_dir() and (sweep_dir / "report" / "report.html").is_file()
    wrong = [
        (str(p.relative_to(sweep_dir)), oct(p.stat().st_mode & 0o777))
        for p in sweep_dir.rglob("*")
        if p.name != ".lock" and p.stat().st_mode & 0o777 != (folder_mode if p.is_dir() else file_mode)
    ]
    assert not wrong, wrong


def test_a_plugin_can_be_named_by_its_file(tmp_path):
    """HOTLAP_PLUGINS=./my_recipe.py needs no PYTHONPATH."""
    plugin = Path(__file__).parent / "plugins" / "toy_recipe.py"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HOTLAP_PLUGINS")}
    proc = subprocess.run(
        [hotlap_script(), "recipes"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HOTLAP_PLUGINS": str(plugin), "COLUMNS": "200"},
    )
    assert proc.returncode == 0 and "toy" in proc.stdout, proc.stderr
    missing = subprocess.run(
        [hotlap_script(), "recipes"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HOTLAP_PLUGINS": str(tmp_path / "none.py")},
    )
    assert missing.returncode == 2 and "no file" in missing.stderr and missing.stderr.count("\n") == 1
