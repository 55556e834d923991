"""recipe: script runs a user's own program once per (config, seed): placeholders, environment,
metrics from standard output or metrics.json, streamed epochs, failures with their reasons, kills
(timeout, Ctrl-C, the driver's SIGKILL) that take the program's children along, exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml

import hotlap
from hotlap.errors import ConfigError, RunFailed
from hotlap.recipes import get_recipe
from hotlap.recipes.base import Placement
from hotlap.spec import load_spec
from hotlap.store import Store

from .conftest import hotlap_script

RECIPE = get_recipe("script")
CPU = Placement(torch.device("cpu"))
EXAMPLE = Path(__file__).parents[1] / "examples" / "script.yaml"

# A stand-in for a user's program: what it does is chosen by --mode.
PROGRAM = textwrap.dedent(
    """
    import argparse, json, os, subprocess, sys, time
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--marks", default="")
    args = parser.parse_args()
    marks = Path(args.marks) if args.marks else None
    env = {k: os.environ.get(k) for k in ("HOTLAP_RUN_DIR", "HOTLAP_SEED", "HOTLAP_DEVICE")}
    acc = 0.5 + args.lr + args.seed / 100
    if args.mode == "ok":
        print("starting up")
        for epoch in (1, 2):
            print(json.dumps({"epoch": epoch, "val_acc": acc - 0.1 / epoch}), flush=True)
        print(json.dumps({"val_acc": acc, "train_time": 0.25, "env": env, "cwd": os.getcwd()}))
    elif args.mode == "file":
        print(json.dumps({"val_acc": 0.0, "train_time": 0.0}))
        Path(os.environ["HOTLAP_RUN_DIR"], "metrics.json").write_text(json.dumps({"val_acc": acc, "train_time": 1.5}))
        Path(os.environ["HOTLAP_RUN_DIR"], "notes.txt").write_text("kept")
    elif args.mode == "exit":
        print("loading data", file=sys.stderr)
        print("RuntimeError: CUDA out of memory", file=sys.stderr)
        sys.exit(3)
    elif args.mode == "missing":
        print(json.dumps({"accuracy": acc}))
    elif args.mode == "text":
        print("final accuracy: 0.93")
    elif args.mode == "string":
        print(json.dumps({"val_acc": "high", "train_time": 1.0}))
    elif args.mode == "badfile":
        Path(os.environ["HOTLAP_RUN_DIR"], "metrics.json").write_text("{val_acc: 1")
    elif args.mode == "symlink":  # a report that lives outside the run folder
        outside = Path(os.environ["HOTLAP_RUN_DIR"]).parent / "elsewhere.json"
        outside.write_text(json.dumps({"val_acc": 0.9, "train_time": 1.0}))
        Path(os.environ["HOTLAP_RUN_DIR"], "metrics.json").symlink_to(outside)
    elif args.mode == "deep":  # a line nested past any JSON parser's depth
        print('{"a": ' * 5000 + '1' + '}' * 5000)
    elif args.mode == "hang":  # a child that would outlive its parent, then a hang
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        marks.write_text(str(child.pid))
        time.sleep(120)
    elif args.mode == "orphan":  # leaves a child running that holds standard output open
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        marks.write_text(str(child.pid))
        print(json.dumps({"val_acc": acc, "train_time": 0.1}))
    elif args.mode == "stuck":  # the seed-1 runs wait (with a child) until the marks file exists
        if args.seed == 1 and not marks.exists():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            Path(str(marks) + ".child").write_text(str(child.pid))
            while not marks.exists():
                time.sleep(0.05)
        print(json.dumps({"val_acc": acc, "train_time": 0.1}))
    elif args.mode == "wait":  # an epoch, then wait until hotlap has seen it
        print(json.dumps({"epoch": 1, "val_acc": 0.5}), flush=True)
        while not marks.exists():
            time.sleep(0.05)
        print(json.dumps({"val_acc": acc, "train_time": 0.1}))
    elif args.mode == "killer":  # kills the driver once (the first seed-1 run), then lives on
        if args.seed == 1 and not marks.exists():
            marks.write_text(str(os.getpid()))
            os.kill(os.getppid(), 9)
            time.sleep(3)
            Path(str(marks) + ".survived").write_text("the program outlived its driver")
        print(json.dumps({"val_acc": acc, "train_time": 0.1}))
    """
)


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    return path


def config(program, mode="ok", *, timeout=None, metrics=None, extra=(), **keys):
    command = ["{python}", str(program), "--mode", mode, "--lr", "{lr}", "--seed", "{seed}", *extra]
    script = {
        "command": command,
        "metrics": metrics or {"val_acc": "max", "train_time": "min"},
        "timeout": timeout,
        "cwd": str(program.parent),
    }
    return RECIPE.config({"script": script, "lr": 0.1, **keys})


def failure(program, mode, **kw) -> RunFailed:
    with pytest.raises(RunFailed) as caught:
        RECIPE.train(config(program, mode, **kw), CPU, seed=0)
    return caught.value


def test_a_run_fills_the_placeholders_and_reads_the_last_json_line(program):
    result = RECIPE.train(config(program, lr=0.2), CPU, seed=7)
    assert result["val_acc"] == pytest.approx(0.5 + 0.2 + 0.07)
    assert result["train_time"] == 0.25  # the program's own report
    assert result["wall_time"] > 0  # measured by hotlap
    assert [r["epoch"] for r in result.history] == [1, 2]
    out = result.artifacts["stdout.txt"].decode().splitlines()
    report = json.loads(out[-1])
    assert out[0] == "starting up" and report["cwd"] == str(program.parent)
    assert report["env"]["HOTLAP_SEED"] == "7" and report["env"]["HOTLAP_DEVICE"] == "cpu"
    assert Path(report["env"]["HOTLAP_RUN_DIR"]).name == "run"
    assert not Path(report["env"]["HOTLAP_RUN_DIR"]).exists()  # scratch, removed after the run


def test_wall_time_is_the_time_metric_when_the_program_reports_none(program):
    result = RECIPE.train(config(program, metrics={"val_acc": "max"}), CPU, seed=0)
    assert result["train_time"] == result["wall_time"] > 0
    names = [m.name for m in RECIPE.metrics_of(config(program, metrics={"val_acc": "max"}))]
    assert names == ["val_acc", "train_time", "wall_time"]


def test_metrics_json_takes_precedence_and_the_programs_files_are_kept(program):
    result = RECIPE.train(config(program, "file"), CPU, seed=0)
    assert result["val_acc"] == pytest.approx(0.6) and result["train_time"] == 1.5
    assert result.artifacts["notes.txt"] == b"kept"
    assert json.loads(result.artifacts["script-metrics.json"])["train_time"] == 1.5


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("exit", "exit code 3: loading data / RuntimeError: CUDA out of memory"),
        ("missing", "reported no val_acc (its standard output has: accuracy)"),
        (
            "text",
            "printed no JSON object line on standard output and wrote no $HOTLAP_RUN_DIR/metrics.json (last line of output: 'final accuracy: 0.93')",
        ),
        ("string", "reported val_acc = 'high', not a number"),
        ("badfile", "$HOTLAP_RUN_DIR/metrics.json is not valid JSON"),
        ("symlink", "$HOTLAP_RUN_DIR/metrics.json is a symbolic link; write the file itself"),
        ("deep", "printed no JSON object line on standard output"),
    ],
)
def test_each_failure_names_its_cause_and_keeps_the_output(program, mode, message):
    error = failure(program, mode)
    assert message in str(error)
    assert "stdout.txt" in error.artifacts and "stderr.txt" in error.artifacts


def _dies(pid: int, within: float) -> bool:
    """Whether process `pid` is gone (or a zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split()[2] != "Z"


def test_a_run_past_its_timeout_is_killed_with_its_children(program, tmp_path):
    marks = tmp_path / "child.pid"
    error = failure(program, "hang", timeout=3, extra=["--marks", str(marks)])
    assert "timed out after 3 s (script.timeout): killed with its children" in str(error)
    child = int(marks.read_text())
    assert _dies(child, within=5)


def test_a_child_left_running_does_not_hold_the_run_and_is_killed(program, tmp_path):
    """The program exits, leaving a child that keeps standard output open: the run ends with the
    program (not at its timeout), and the child goes with it."""
    marks = tmp_path / "child.pid"
    result = RECIPE.train(config(program, "orphan", timeout=60, extra=["--marks", str(marks)]), CPU, seed=0)
    assert result["val_acc"] == pytest.approx(0.6) and result["wall_time"] < 60
    child = int(marks.read_text())
    assert _dies(child, within=5)


def test_epochs_reach_the_callback_while_the_program_runs(program, tmp_path):
    """The program waits for a file that only the epoch callback writes: without streaming it
    would wait until its timeout and the run would fail."""
    marks = tmp_path / "seen"
    seen = []

    def on_epoch(record):
        seen.append(record)
        marks.write_text("seen")

    cfg = config(program, "wait", timeout=60, extra=["--marks", str(marks)])
    result = RECIPE.train(cfg, CPU, seed=0, on_epoch=on_epoch)
    assert seen == [{"epoch": 1, "val_acc": 0.5}] and result["val_acc"] == pytest.approx(0.6)


def test_ctrl_c_stops_the_program_and_its_children(program, tmp_path):
    marks = tmp_path / "child.pid"

    def interrupt(record):
        raise KeyboardInterrupt

    hang = textwrap.dedent(
        f"""
        import json, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(marks)!r}, "w").write(str(child.pid))
        print(json.dumps({{"epoch": 1}}), flush=True)
        time.sleep(120)
        """
    )
    (tmp_path / "hang.py").write_text(hang)
    cfg = RECIPE.config(
        {"script": {"command": ["{python}", "hang.py"], "metrics": {"val_acc": "max"}, "cwd": str(tmp_path)}}
    )
    with pytest.raises(KeyboardInterrupt):
        RECIPE.train(cfg, CPU, seed=0, on_epoch=interrupt)
    child = int(marks.read_text())
    assert _dies(child, within=10)


def test_a_program_that_cannot_start_is_a_failed_run(tmp_path):
    cfg = RECIPE.config(
        {"script": {"command": ["./no-such-program"], "metrics": {"a": "max"}, "cwd": str(tmp_path)}}
    )
    with pytest.raises(RunFailed, match=r"cannot start '\./no-such-program'"):
        RECIPE.train(cfg, CPU, seed=0)


def _spec(program, tmp_path, mode="ok", **extra):
    spec = {
        "name": "own",
        "recipe": "script",
        "seeds": 2,
        "space": {"lr": [0.1, 0.2]},
        "script": {
            "command": [
                "{python}",
                program.name,
                "--mode",
                mode,
                "--lr",
                "{lr}",
                "--seed",
                "{seed}",
                "--marks",
                str(tmp_path / "marks"),
            ],
            "metrics": {"val_acc": {"direction": "max", "kind": "fraction"}, "train_time": "min"},
            "timeout": 60,
        },
        **extra,
    }
    path = program.parent / "own.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_the_spec_runs_the_command_in_its_own_folder_and_names_no_dataset(program, tmp_path):
    spec = load_spec(_spec(program, tmp_path))
    assert spec.dataset == "own-data" and spec.base["script"]["cwd"] == str(program.parent)
    assert spec.metric_names == ["val_acc", "train_time", "wall_time"]
    assert spec.metric("val_acc").kind == "fraction" and spec.metric("train_time").kind == "time"
    path = _spec(program, tmp_path)  # a score of the program's own (any scale) is stored as one
    path.write_text(path.read_text().replace("kind: fraction", "kind: score"))
    assert load_spec(path).metric("val_acc").kind == "score"


def test_an_accuracy_declared_in_short_form_is_a_score_and_the_user_hears_how_to_declare_it(
    program, tmp_path, cli
):
    """`val_acc: max` reads as a score (its scale unknown); `hotlap plan` says, in one line, how
    to declare it a fraction. A loss declared so, or an accuracy declared in full, says nothing."""
    raw = yaml.safe_load(_spec(program, tmp_path).read_text())
    raw["script"]["metrics"] = {"val_acc": "max", "val_loss": "min"}
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    code, _, err = cli("plan", str(path), "--workdir", str(tmp_path / "work"))
    said = [line for line in err.splitlines() if "warning" in line]
    assert code == 0 and len(said) == 1, err
    assert said[0].startswith("hotlap: warning: script.metrics.val_acc: read as a score")
    assert "val_acc: {direction: max, kind: fraction}" in said[0]
    assert load_spec(path).metric("val_acc").kind == "score"
    code, _, err = cli("plan", str(_spec(program, tmp_path)), "--workdir", str(tmp_path / "work"))
    assert code == 0 and "warning" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"space": {"momentum": [0.9]}}, "placeholder {lr} is not a config key"),
        (
            {"space": {"lr": [0.1], "seed": [1, 2]}},
            "config key 'seed' is reserved for the {seed} placeholder",
        ),
        ({"script": {"command": [], "metrics": {"a": "max"}}}, "command"),
        ({"script": {"command": ["x", "{}"], "metrics": {"a": "max"}}}, "placeholder {} is not a key name"),
        ({"script": {"command": ["x"], "metrics": {"wall_time": "min"}}}, "wall_time is measured by hotlap"),
        ({"script": {"command": ["x"], "metrics": {"a": "up"}}}, "metrics"),
        ({"script": {"command": ["x"], "metrics": {"a": "max"}, "timeout": 0}}, "timeout"),
        ({"base": {"layers": [1, 2]}}, "layers: a script's config values are scalars, not list"),
    ],
)
def test_a_bad_script_spec_is_one_line_exit_2_and_writes_nothing(program, tmp_path, cli, change, message):
    raw = yaml.safe_load(_spec(program, tmp_path).read_text())
    raw.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    code, _, err = cli("sweep", str(path), "--workdir", str(tmp_path / "work"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "work").exists()


def test_hotlap_run_of_the_script_recipe_points_to_a_spec(cli):
    code, _, err = cli("run", "script")
    assert code == 2 and "runs from a sweep spec" in err and len(err.strip().splitlines()) == 1


def test_hotlap_show_script_lists_the_block(cli):
    code, out, _ = cli("show", "script")
    assert code == 0 and "script.command" in out and "script.timeout" in out and "any other key" in out


def test_a_sweep_records_failures_with_their_output_in_the_run_folder(program, tmp_path, cli):
    _, out, _ = cli("sweep", str(_spec(program, tmp_path, "exit")), "--workdir", str(tmp_path / "w"))
    assert "exit code 3" in out  # the progress says why, run by run
    with Store(tmp_path / "w") as store:
        (sweep,) = store.sweeps()
        runs = store.runs(sweep.id)
    assert {r.status for r in runs} == {"failed"} and len(runs) == 4
    assert all("exit code 3: loading data / RuntimeError: CUDA out of memory" in r.error for r in runs)
    folder = sweep.directory / runs[0].config_id / f"seed-{runs[0].seed}"
    assert b"CUDA out of memory" in (folder / "stderr.txt").read_bytes()


def test_the_driver_killed_mid_run_takes_the_program_along_and_the_sweep_resumes_exactly_once(
    program, tmp_path
):
    """The program of the first seed-1 run SIGKILLs hotlap itself; it is then killed too (it would
    leave a mark three seconds later), and the same command again runs every (config, seed) once."""
    path = _spec(program, tmp_path, "killer")
    workdir = tmp_path / "work"
    command = [hotlap_script(), "sweep", str(path), "--workdir", str(workdir)]
    killed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        before = store.counts(sweep.id)
    assert before["running"] == 1 and 1 <= before["done"] < 4  # the killed run is still "running"
    final = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    time.sleep(3.5)  # past the moment the orphan would have left its mark
    assert not Path(str(tmp_path / "marks") + ".survived").exists()
    with Store(workdir) as store:
        runs = store.runs(sweep.id)
    assert (
        sorted((r.config_id, r.seed) for r in runs if r.status == "done")
        == sorted({(r.config_id, r.seed) for r in runs})
        and len(runs) == 4
    )
    lines = (sweep.directory / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 4


def test_ctrl_c_during_a_sweep_stops_the_program_and_the_sweep_resumes(program, tmp_path):
    path = _spec(program, tmp_path, "stuck")
    workdir = tmp_path / "work"
    child_mark = Path(str(tmp_path / "marks") + ".child")
    proc = subprocess.Popen(
        [hotlap_script(), "sweep", str(path), "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not child_mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child_mark.exists(), proc.stderr.read() if proc.poll() is not None else "no seed-1 run"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "resume with:\n  hotlap resume " in out, err  # the command whole
    child = int(child_mark.read_text())
    assert _dies(child, within=10)  # the program's own child went with it
    with Store(workdir) as store:
        (sweep,) = store.sweeps()
        assert sweep.state == "stopped" and store.counts(sweep.id)["running"] == 0
    (tmp_path / "marks").write_text("go on")
    resumed = subprocess.run(
        [hotlap_script(), "resume", sweep.id, "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    with Store(workdir) as store:
        runs = store.runs(sweep.id)
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}


def test_the_example_sweeps_resumes_and_reports(cli, tmp_path, monkeypatch):
    """examples/script.yaml at smoke size (1 config x 2 seeds, 3 epochs: each run starts Python,
    torch and scikit-learn, about 7 s on 2 cores), through the CLI."""
    monkeypatch.setenv("HOTLAP_HOME", str(tmp_path))
    smoke = ["seeds=2", "space.lr=[0.1]", "space.weight_decay=[0.0005]", "base.epochs=3"]
    code, _, err = cli("sweep", str(EXAMPLE), *smoke)
    assert code == 0, err
    written = load_spec(EXAMPLE, smoke)
    with hotlap.open(tmp_path) as store:
        sweep = store.require(written.name)
        runs = store.runs(sweep.id)
        assert {r.status for r in runs} == {"done"} and len(runs) == 2
        # 93-96% on the digits after 3 epochs (seeds 0-1, 2026-12-01)
        assert all(
            0.9 <= r.values["val_acc"] <= 1 and r.values["wall_time"] > r.values["train_time"] for r in runs
        )
        run = runs[0]
    folder = sweep.directory / run.config_id / f"seed-{run.seed}"
    assert (folder / "model.pt").is_file() and (folder / "stdout.txt").is_file()
    assert [r["epoch"] for r in json.loads((folder / "metrics.json").read_text())["history"]] == [
        1,
        2,
        3,
    ]
    code, _, err = cli("sweep", str(EXAMPLE), *smoke)  # the same command again: nothing to run
    assert code == 0, err
    with hotlap.open(tmp_path) as store:
        assert len(store.runs(sweep.id)) == 2
    code, out, err = cli("report", written.name)
    assert code == 0 and "val_acc" in out, err
    # Exported in every format: the program's wall_time and the run's own (run_wall_time) side by side.
    code, out, err = cli("export", written.name, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 2 and all(r["wall_time"] > 0 and r["run_wall_time"] >= r["wall_time"] for r in rows)
    code, out, err = cli("export", written.name, "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert code == 0 and len(header) == len(set(header)) and "run_wall_time" in header, err


@pytest.mark.parametrize("name", ["status", "seed", "config_id", "error"])
def test_a_metric_named_like_a_runs_own_field_is_refused(name):
    """Such a metric would overwrite the run's field in runs.jsonl (and the repair would then never
    find the run): refused in one line."""
    with pytest.raises(ConfigError, match=f"metric name '{name}' is a run's own field"):
        RECIPE.config({"script": {"command": ["prog"], "metrics": {name: "max"}}})


def test_without_a_spec_file_the_program_runs_in_the_current_folder(program, monkeypatch):
    monkeypatch.chdir(program.parent)
    cfg = RECIPE.config({"script": {"command": ["{python}", program.name], "metrics": {"val_acc": "max"}}})
    result = RECIPE.train(cfg, CPU, seed=0)
    assert json.loads(result.artifacts["stdout.txt"].decode().splitlines()[-1])["cwd"] == str(program.parent)


def test_a_gpu_run_sees_only_the_gpu_it_is_placed_on(program, monkeypatch):
    from hotlap.recipes.script import _environment

    cfg = RECIPE.config({"script": {"command": ["x"], "metrics": {"a": "max"}, "env": {"MY_FLAG": "1"}}})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")  # the user's own restriction is honoured
    env = _environment(cfg, 3, Path("/run"), Placement(torch.device("cuda:1")))
    assert env["CUDA_VISIBLE_DEVICES"] == "5" and env["HOTLAP_DEVICE"] == "cuda"
    assert env["HOTLAP_SEED"] == "3" and env["HOTLAP_RUN_DIR"] == "/run" and env["MY_FLAG"] == "1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert _environment(cfg, 3, Path("/run"), Placement(torch.device("cuda")))["CUDA_VISIBLE_DEVICES"] == "0"
    assert "CUDA_VISIBLE_DEVICES" not in _environment(cfg, 3, Path("/run"), CPU)


def test_a_declared_resolution_is_the_floor_of_spread_and_without_one_equal_runs_never_pass(
    program, tmp_path
):
    """A program's accuracy on 1,000 images moves in steps of 0.001: declared as `resolution`, its
    rounding error is the floor of spread the bounds use; undeclared, runs that all report the
    same value never pass (it passed with certainty on two seeds) and the verdict says why."""
    import math

    from hotlap.analysis.judging import make_target
    from hotlap.decisions import Evidence, race

    target = {"metric": "val_acc", "at_least": 0.9}
    declared = load_spec(_spec(program, tmp_path, objective={"target": target, "minimize": "train_time"}))
    assert make_target(declared).min_std == 0.0
    raw = yaml.safe_load(_spec(program, tmp_path).read_text())
    raw["script"]["metrics"]["val_acc"]["resolution"] = 0.001
    raw["objective"] = {"target": target, "minimize": "train_time"}
    path = program.parent / "resolved.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    resolved = make_target(load_spec(path))
    assert resolved.min_std == pytest.approx(0.001 / math.sqrt(12))
    equal = {"a": Evidence([0.95] * 6, [1.0] * 6)}
    assert race(equal, resolved, 0.01)["a"].decision == "pass"  # 0.05 above: clear, with a floor
    unknown = race(equal, make_target(declared), 0.01)["a"]
    assert unknown.decision == "undecided" and "declare the metric's resolution" in unknown.reason


def test_a_programs_terminal_escapes_never_reach_the_failure_message(tmp_path):
    """A program's standard error quoted in a failure (the live display, log.txt and `status` show
    it) is plain text: colours, cursor moves and a window title are gone, the words kept; the file
    keeps what the program wrote."""
    loud = tmp_path / "loud.py"
    loud.write_text(
        "import sys\n"
        "sys.stderr.write('\\x1b[31mRuntimeError\\x1b[0m: \\x1b]0;pwned\\x07boom\\x1b[2J\\x1b[H\\n')\n"
        "sys.exit(3)\n"
    )
    with pytest.raises(RunFailed) as caught:
        RECIPE.train(config(loud), CPU, seed=0)
    message = str(caught.value)
    assert "exit code 3: RuntimeError: boom" in message
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in message), repr(message)
    assert b"\x1b[31m" in caught.value.artifacts["stderr.txt"]


def test_a_driver_killed_mid_run_leaves_none_of_the_programs_children_running(program, tmp_path):
    """SIGKILL of hotlap while its program runs a child of its own: the program dies with its
    parent, and the watchdog kills the rest of its process group (the child outlived the driver
    before: the parent-death signal reaches only the direct child)."""
    path = _spec(program, tmp_path, "hang")
    marks = tmp_path / "marks"
    command = [hotlap_script(), "sweep", str(path), "--workdir", str(tmp_path / "work")]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (marks.exists() and marks.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(marks.read_text())
        assert _alive(child)
    finally:
        driver.kill()
        driver.wait()
    assert _dies(child, within=10), "the program's child outlived the killed driver"


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        (
            {"direction": "max", "resolution": -1},
            "metric val_acc: resolution: Input should be greater than 0",
        ),
        (
            {"direction": "max", "resolution": "fine"},
            "metric val_acc: resolution: Input should be a valid number",
        ),
        ({"direction": "max", "kind": "nope"}, "metric val_acc: kind: Input should be"),
    ],
)
def test_a_bad_metric_declaration_names_its_field(declared, said):
    """A full metric declaration with a bad field names that field (it was reported as a bad short
    form: "Input should be 'max', 'min', ...")."""
    with pytest.raises(ConfigError, match=said):
        RECIPE.config({"script": {"command": ["prog"], "metrics": {"val_acc": declared}}})
