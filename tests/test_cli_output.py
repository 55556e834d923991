"""What the command line prints when things go wrong: one line for a read-only folder, error text
printed as it is (no markup), the version, Ctrl-C during the summary, the report's file list."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from hotlap.store import Store

from .conftest import TOY_SPEC, run_toy

TORCH_OOM = "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory"


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
    spec.write_text(yaml.safe_dump({**TOY_SPEC, "base": base, "max_consecutive_failures": 1}))
    code, out, err = cli("sweep", str(spec))
    assert code == 1, err  # stopped by its failure limit: exit 1, no MarkupError
    flat = " ".join(out.split())
    assert f"[/] [bold]{TORCH_OOM}" in flat and "second line of the error" in flat


def test_terminal_escapes_in_a_runs_error_reach_no_display_log_or_status(cli, tmp_path, monkeypatch):
    """An exception's message with a terminal's escape sequences (a colour, a window title) is kept
    as plain text: in the store, the sweep's log.txt, the live display and `status`."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    base = {"fail_seed": 0, "fail_text": " \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07"}
    spec.write_text(yaml.safe_dump({**TOY_SPEC, "base": base, "max_consecutive_failures": 1}))
    code, out, _ = cli("sweep", str(spec))
    assert code == 1 and "red" in out
    code, status, _ = cli("status", "hard")
    with Store(tmp_path / "home") as store:
        (sweep,) = store.sweeps()
        errors = [run.error for run in store.runs(sweep.id) if run.error]
        log = (sweep.directory / "log.txt").read_text()
    assert errors and all("red" in e and "bell" in e for e in errors)
    for text in (*errors, log, out, status):
        assert "\x1b" not in text and "\x07" not in text


def test_version_prints_without_a_command(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("hotlap ")


def test_ctrl_c_while_the_summary_prints_says_so_and_what_is_stored(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(TOY_SPEC))

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("hotlap.cli.driving._print_status", interrupt)
    code, out, _ = cli("sweep", str(spec))
    assert code == 130 and "interrupted while printing the summary" in out and "hotlap report hard-" in out
    monkeypatch.setattr("hotlap.report.render_table", interrupt)
    code, _, err = cli("report", "hard")
    assert code == 130 and "hotlap: interrupted" in err  # a command with no message of its own


def test_a_ctrl_c_swallowed_where_it_landed_still_stops_the_sweep(cli, tmp_path, monkeypatch):
    """Python raises KeyboardInterrupt in whatever runs when SIGINT lands; where that is a handler
    whose exceptions Python only prints (logging's at-fork handler while a worker starts), the
    exception is lost. The command line notes the signal, so the sweep stops all the same."""
    import os
    import signal
    import time

    from hotlap.executors.inprocess import InProcessExecutor

    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({**TOY_SPEC, "seeds": 5}))
    submit = InProcessExecutor.submit
    sent = []

    def swallowing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not sent:
            sent.append(True)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)  # the signal lands here
            except KeyboardInterrupt:
                pass  # ... and is swallowed, as "Exception ignored in: <function _releaseLock>"
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(InProcessExecutor, "submit", swallowing)
    code, out, _ = cli("sweep", str(spec))
    assert sent and code == 130 and "resume with" in out
    with Store(tmp_path / "home") as store:
        (sweep,) = store.sweeps()
        assert sweep.state == "stopped" and store.counts(sweep.id)["done"] < 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back after the command


def test_the_report_file_list_has_no_trailing_separator(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    with Store(tmp_path) as store:  # every run fails: no plot is drawn
        run_toy(store, {**TOY_SPEC, "base": {"nan": True}})
    code, out, _ = cli("report", "hard")
    line = " ".join(out[out.index("report files:") :].split())
    assert code == 0 and line.endswith("(report.html, report.csv)"), line


@pytest.mark.parametrize("width", [50, 80])
def test_ls_on_a_narrow_terminal_keeps_ids_dates_and_numbers_whole(cli, tmp_path, monkeypatch, capsys, width):
    """Where the table does not fit, each sweep is its id on a line, then its state, counts,
    recipe and date on lines broken only between those parts (never inside a date)."""
    import sys

    from hotlap.cli import main
    from hotlap.cli.app import console

    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path / "home"))
    code, _, err = cli("run", "toy", "--data", "synthetic:8", "--device", "cpu")
    assert code == 0, err
    monkeypatch.setattr(console, "_width", width)
    monkeypatch.setattr(sys, "argv", ["hotlap", "ls"])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), out
    assert any(re.search(r"updated \d{4}-\d\d-\d\d \d\d:\d\d$", line) for line in lines), out
