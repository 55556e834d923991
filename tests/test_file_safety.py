"""Files hotlap writes go only where they should: never outside the workdir a store names, never
through a config id or a lock link, with the umask's permissions; texts from outside stay text."""

from __future__ import annotations

import sqlite3
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from hotlap.analysis.configs import analyze
from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep, sweep_lock
from hotlap.errors import HotlapError
from hotlap.executors import InProcessExecutor
from hotlap.report.render import render_html, render_markdown
from hotlap.spec import parse_spec
from hotlap.store import Store

from .conftest import TOY_SPEC, run_toy


def test_a_store_naming_a_folder_outside_the_workdir_is_not_written_to(tmp_path):
    victim = tmp_path / "victim"
    (victim / "best").mkdir(parents=True)
    (victim / "best" / "keep.txt").write_text("the user's file")
    with Store(tmp_path / "work") as store:
        record, _ = open_sweep(store, parse_spec(TOY_SPEC))
        store.db.execute("UPDATE sweeps SET directory = ? WHERE id = ?", (str(victim), record.id))
        crafted = store.sweep(record.id)
        with pytest.raises(HotlapError, match="will not write there"):
            Engine(store, crafted, InProcessExecutor(warmup=False))
    assert (victim / "best" / "keep.txt").read_text() == "the user's file"


def test_a_config_id_that_is_a_path_is_refused(tmp_path):
    with Store(tmp_path) as store:
        run_toy(store, TOY_SPEC)
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


def test_variant_names_are_text_in_the_markdown_and_html_reports(tmp_path):
    raw = {
        **TOY_SPEC,
        "space": {},
        "variants": {"<script>alert(1)</script>": {"x": 0.3}, "a|b*c*": {"x": 0.2}},
    }
    with Store(tmp_path) as store:
        result = run_toy(store, raw)
        sweep = store.sweep(result.sweep.id)
        analysis = analyze(parse_spec(raw), store.configs(sweep.id), store.runs(sweep.id))
    markdown = render_markdown(analysis, sweep)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert r"a\|b\*c\*" in markdown
    page = render_html(analysis, sweep, {"host": "<b>x</b>"}, [])  # the template autoescapes
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page and page.count("<table") == 1


def test_the_python_floor_has_tarfile_data_filter():
    """Safe extraction needs tarfile's filter="data" (3.11.4+): the package must not say less."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    floor = tuple(int(p) for p in project["requires-python"].removeprefix(">=").split("."))
    assert floor >= (3, 11, 4) and sys.version_info >= floor


def test_a_failed_runs_error_keeps_every_line(tmp_path):
    with Store(tmp_path) as store:
        result = run_toy(store, {**TOY_SPEC, "base": {"fail_seed": 1, "fail_text": "\nCUDA out of memory"}})
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
    spec.write_text(yaml.safe_dump({**TOY_SPEC, "keep_weights": True}))
    assert cli("sweep", str(spec))[0] == 0 and cli("report", "hard")[0] == 0
    sweep_dir = next((tmp_path / "home" / "sweeps").iterdir())
    assert (sweep_dir / "best").is_dir() and (sweep_dir / "report" / "report.html").is_file()
    wrong = [
        (str(p.relative_to(sweep_dir)), oct(p.stat().st_mode & 0o777))
        for p in sweep_dir.rglob("*")
        if p.name != ".lock" and p.stat().st_mode & 0o777 != (folder_mode if p.is_dir() else file_mode)
    ]
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            OSError(28, "No space left on device", "/data/runs/x.json"),
            "No space left on device writing /data",
        ),
        (
            sqlite3.OperationalError("database or disk is full"),
            "the disk holding the workdir's hotlap.db is full",
        ),
    ],
)
def test_a_full_disk_is_one_line_that_says_so_and_keeps_the_store(cli, tmp_path, monkeypatch, error, said):
    """A full disk (an OS write or SQLite's) is one line naming it, exit 2; the advice is to free
    space and run again, never to move a healthy store aside."""
    from hotlap.store import Store

    Store(tmp_path).close()

    def full(self):
        raise error

    monkeypatch.setattr(Store, "sweeps", full)
    code, _, err = cli("ls", "--workdir", str(tmp_path))
    assert code == 2 and said in err and "free space" in err and "move it aside" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_full_disk_inside_a_run_stops_the_sweep_in_one_line_and_it_resumes(cli, tmp_path, monkeypatch):
    """The disk fills while a run writes (its artifacts, a program's scratch output): not that
    run's failure, nor each next run's one by one, but the sweep stopped in one line, exit 2,
    the run back in the queue; the same command again finishes every (config, seed) once."""
    import hotlap.executors.inprocess as inprocess
    from hotlap.store import Store

    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**TOY_SPEC, "seeds": 3}))
    encode, calls = inprocess.encode_artifacts, []

    def filling(artifacts):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", "/scratch/run-3/model.pt")
        return encode(artifacts)

    monkeypatch.setattr(inprocess, "encode_artifacts", filling)
    code, _, err = cli("sweep", str(spec))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "No space left on device writing /scratch/run-3/model.pt" in err and "free space" in err
    with Store(tmp_path / "home") as store:
        (sweep,) = store.sweeps()
        counts = store.counts(sweep.id)
        assert counts["done"] == 2 and counts.get("failed", 0) == 0  # the full disk failed no run
    monkeypatch.setattr(inprocess, "encode_artifacts", encode)
    code, _, err = cli("sweep", str(spec))
    assert code == 0, err
    with Store(tmp_path / "home") as store:
        runs = store.runs(sweep.id)
        assert sorted((r.config_id, r.seed) for r in runs if r.status == "done") == sorted(
            {(r.config_id, r.seed) for r in runs}
        )
        assert len(runs) == 6 and all(r.status == "done" for r in runs)


def test_scratch_folders_a_killed_process_left_are_removed_by_the_next(tmp_path, monkeypatch):
    """A driver or report killed mid-way leaves its scratch folder (a script run's output, a
    report's plots): the next one made removes those whose process no longer runs, and keeps the
    living ones' (this process's, here)."""
    import os
    import tempfile

    from hotlap.io import _host, scratch_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"hotlap-plots-4194999-{_host()}-abc"  # above any pid_max: no such process
    (dead / "plot.png").parent.mkdir()
    (dead / "plot.png").write_bytes(b"x")
    alive = tmp_path / f"hotlap-plots-{os.getpid()}-{_host()}-def"
    other = tmp_path / f"hotlap-script-4194999-{_host()}-ghi"  # another kind: left to its own kind
    elsewhere = tmp_path / "hotlap-plots-4194999-another_host-jkl"  # another host's (a shared /tmp)
    for folder in (alive, other, elsewhere):
        folder.mkdir()
    with scratch_folder("hotlap-plots-") as scratch:
        assert scratch.parent == tmp_path and scratch.name.startswith(
            f"hotlap-plots-{os.getpid()}-{_host()}-"
        )
        assert not dead.exists() and alive.exists() and other.exists() and elsewhere.exists()
    assert not scratch.exists()


def test_a_read_only_store_can_be_read_and_is_never_written(cli, tmp_path, monkeypatch):
    """An archived store (its folder and file not writable: a read-only mount, another user's) is
    read as it is by ls, status and report; a command that would write says so in one line, and
    nothing (no WAL, no shared-memory file) appears beside it."""
    import os

    from hotlap.engine.driver import Engine as _Engine
    from hotlap.executors import InProcessExecutor
    from hotlap.spec import parse_spec
    from hotlap.store import Store

    spec = {
        "name": "archived",
        "recipe": "toy",
        "dataset": "synthetic:8",
        "device": "cpu",
        "seeds": 2,
        "space": {"x": [0.1, 0.2]},
    }
    with Store(tmp_path) as store:
        record, _ = open_sweep(store, parse_spec(spec))
        _Engine(store, record, InProcessExecutor(warmup=False)).run()
    before = sorted(p.name for p in tmp_path.iterdir())
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode == os.W_OK else real(path, mode))
    for command in (["ls"], ["status", record.id], ["report", record.id, "--format", "md"]):
        code, out, err = cli(*command, "--workdir", str(tmp_path))
        assert code == 0 and record.id in out, (command, err)
    code, _, err = cli("resume", record.id, "--workdir", str(tmp_path))
    assert code == 2 and "is read-only" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_write_refused_by_the_file_system_is_one_line(cli, tmp_path, monkeypatch):
    """A report into a read-only file system (an archive mounted read-only) is one line naming the
    file, exit 2, not a PermissionError's traceback."""
    from hotlap.store import Store

    Store(tmp_path).close()

    def refused(self):
        raise OSError(30, "Read-only file system", str(tmp_path / "sweeps" / "x" / "report.md"))

    monkeypatch.setattr(Store, "sweeps", refused)
    code, _, err = cli("ls", "--workdir", str(tmp_path))
    assert code == 2 and "report.md: Read-only file system (a read-only file system" in err, err
    assert len(err.strip().splitlines()) == 1
