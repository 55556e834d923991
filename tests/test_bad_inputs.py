"""Bad input of every kind: one line on stderr naming the problem, exit code 2, no traceback, and
the store and the workdir exactly as they were.

Each case runs the CLI in this process against a workdir holding one finished sweep (`base`);
its input files live outside the workdir. The workdir's files and the store's rows are compared
before and after.
"""

from __future__ import annotations

import io
import pickle
import shutil
import sqlite3
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from hotlap.engine.driver import Engine
from hotlap.engine.session import open_sweep
from hotlap.executors import InProcessExecutor
from hotlap.spec import parse_spec
from hotlap.store import Store

SPEC = "name: {name}\nrecipe: toy\ndataset: synthetic:8\ndevice: cpu\nseeds: 2\nspace: {{x: [0.1, 0.2]}}\n"


def _spec(extra: str = "", name: str = "bad") -> str:
    return SPEC.format(name=name) + extra


def _saved(value: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


class _Box:  # a class a checkpoint could name: the safe loader must refuse to build it
    pass


class _Evil:
    def __reduce__(self):  # what a pickle in a checkpoint could run on load
        return (shutil.rmtree, ("/nonexistent-hotlap-test",))


def _npz(n: int = 4, **arrays: np.ndarray) -> bytes:
    """A cifar10 cache file: valid arrays of n images, `arrays` replacing some of them."""
    fields = {
        "version": np.int64(1),
        "train_images": np.zeros((n, 32, 32, 3), np.uint8),
        "train_labels": np.zeros(n, np.int64),
        "test_images": np.zeros((n, 32, 32, 3), np.uint8),
        "test_labels": np.zeros(n, np.int64),
        **arrays,
    }
    buffer = io.BytesIO()
    np.savez(buffer, **fields)
    return buffer.getvalue()


def _store_bytes() -> bytes:
    """The file of a store holding one finished sweep, to truncate."""
    with tempfile.TemporaryDirectory() as tmp:
        with Store(tmp) as store:
            record, _ = open_sweep(store, parse_spec(yaml.safe_load(_spec(name="cut"))))
            Engine(store, record, InProcessExecutor(warmup=False)).run()
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return (Path(tmp) / "hotlap.db").read_bytes()


_STORE = _store_bytes()

_BOMB = "lol: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)

# (id, files to write into the input folder, CLI arguments; {in} is the input folder)
CASES: list[tuple[str, dict[str, str | bytes], list[str]]] = [
    # --- overrides on the command line ---
    ("run-inf", {}, ["run", "toy", "x=.inf", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-overflow", {}, ["run", "toy", "x=1e400", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-nan-text", {}, ["run", "toy", "x=nan", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-unknown-key", {}, ["run", "toy", "lr=0.1", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-no-equals", {}, ["run", "toy", "x", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-twice", {}, ["run", "toy", "x=0.1", "x=0.2", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-list-value", {}, ["run", "toy", "x=[1,2]", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-wrong-type", {}, ["run", "toy", "y=abc", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-unknown-recipe", {}, ["run", "nosuch", "--data", "synthetic:8", "--device", "cpu"]),
    ("run-unknown-data", {}, ["run", "toy", "--data", "nosuch", "--device", "cpu"]),
    ("run-zero-seeds", {}, ["run", "toy", "--data", "synthetic:8", "--seeds", "0", "--device", "cpu"]),
    ("run-bad-device", {}, ["run", "toy", "--data", "synthetic:8", "--device", "tpu"]),
    ("show-unknown-recipe", {}, ["show", "nosuch"]),
    ("show-inf", {}, ["show", "toy", "x=.inf", "--data", "synthetic:8"]),
    ("download-unknown", {}, ["download", "nosuch"]),
    # --- sweep specs ---
    ("spec-missing", {}, ["sweep", "{in}/missing.yaml"]),
    ("spec-yaml-syntax", {"s.yaml": "name: [unclosed\n"}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-python-tag",
        {"s.yaml": '!!python/object/apply:os.system ["echo hi"]\n'},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-not-mapping", {"s.yaml": "- a\n- b\n"}, ["sweep", "{in}/s.yaml"]),
    ("spec-empty", {"s.yaml": ""}, ["sweep", "{in}/s.yaml"]),
    ("spec-unknown-key", {"s.yaml": _spec("colour: red\n")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-base-inf",
        {"s.yaml": _spec("base: {y: 1}\n").replace("y: 1", "x: .inf")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-space-inf", {"s.yaml": _spec().replace("[0.1, 0.2]", "[0.1, .inf]")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-range-inf",
        {"s.yaml": _spec().replace("[0.1, 0.2]", "{low: 0, high: .inf, step: 1}")},
        ["sweep", "{in}/s.yaml"],
    ),
    (
        "spec-target-nan",
        {"s.yaml": _spec("objective: {target: {metric: tta_accuracy, at_least: .nan}}\n")},
        ["sweep", "{in}/s.yaml"],
    ),
    (
        "spec-target-out-of-range",
        {"s.yaml": _spec("objective: {target: {metric: tta_accuracy, at_least: 94}}\n")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-budget-inf", {"s.yaml": _spec("budget: {max_time: .inf}\n")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-futility-nan",
        {"s.yaml": _spec().replace("seeds: 2", "seeds: {min: 2, max: 4, step: 2, futility: .nan}")},
        ["sweep", "{in}/s.yaml"],
    ),
    (
        "spec-racing-min-above-max",
        {"s.yaml": _spec().replace("seeds: 2", "seeds: {min: 5, max: 2, step: 1}")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-zero-seeds", {"s.yaml": _spec().replace("seeds: 2", "seeds: 0")}, ["sweep", "{in}/s.yaml"]),
    ("spec-no-seeds-list", {"s.yaml": _spec().replace("seeds: 2", "seeds: []")}, ["sweep", "{in}/s.yaml"]),
    ("spec-empty-values", {"s.yaml": _spec().replace("[0.1, 0.2]", "[]")}, ["sweep", "{in}/s.yaml"]),
    ("spec-value-twice", {"s.yaml": _spec().replace("[0.1, 0.2]", "[0.1, 0.1]")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-unknown-space-key",
        {"s.yaml": _spec().replace("{x: [0.1, 0.2]}", "{lr: [0.1, 0.2]}")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-unknown-strategy", {"s.yaml": _spec("strategy: annealing\n")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-unknown-recipe",
        {"s.yaml": _spec().replace("recipe: toy", "recipe: nosuch")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-unknown-dataset", {"s.yaml": _spec().replace("synthetic:8", "nosuch")}, ["sweep", "{in}/s.yaml"]),
    (
        "spec-unknown-metric",
        {"s.yaml": _spec("objective: {maximize: sharpness}\n")},
        ["sweep", "{in}/s.yaml"],
    ),
    ("spec-unknown-executor", {"s.yaml": _spec("executor: quantum\n")}, ["sweep", "{in}/s.yaml"]),
    ("spec-bad-override", {"s.yaml": _spec()}, ["sweep", "{in}/s.yaml", "seeds=abc"]),
    ("spec-changed", {"s.yaml": _spec(name="base").replace("[0.1, 0.2]", "[0.3]")}, ["sweep", "{in}/s.yaml"]),
    # --- sweeps in the store ---
    ("status-unknown", {}, ["status", "nosuch"]),
    ("report-unknown", {}, ["report", "nosuch"]),
    ("report-bad-format", {}, ["report", "base", "--format", "docx"]),
    ("export-unknown", {}, ["export", "nosuch"]),
    ("export-bad-format", {}, ["export", "base", "--format", "xml"]),
    ("resume-unknown", {}, ["resume", "nosuch"]),
    ("resume-bad-override", {}, ["resume", "base", "colour=red"]),
    ("compare-unknown", {}, ["compare", "nosuch", "base"]),
    ("eval-unknown-sweep", {}, ["eval", "nosuch", "--vary", "bonus=0.1"]),
    ("eval-training-field", {}, ["eval", "base", "--vary", "x=0.3"]),
    ("eval-unknown-field", {}, ["eval", "base", "--vary", "colour=1,2"]),
    ("eval-bad-values", {}, ["eval", "base", "--vary", "bonus=a:b:c"]),
    ("eval-low-above-high", {}, ["eval", "base", "--vary", "bonus=0.3:0.1:0.1"]),
    ("eval-step-zero", {}, ["eval", "base", "--vary", "bonus=0.1:0.3:0"]),
    ("eval-value-out-of-range", {}, ["eval", "base", "--vary", "bonus=0.5,2"]),
    # --- weights ---
    (
        "weights-missing",
        {},
        ["eval", "--weights", "{in}/none.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    (
        "weights-garbage",
        {"w.pt": b"not a checkpoint at all"},
        ["eval", "--weights", "{in}/w.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    (
        "weights-pickle",
        {"w.pt": pickle.dumps(_Evil())},
        ["eval", "--weights", "{in}/w.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    (
        "weights-object",
        {"w.pt": _saved({"w": torch.zeros(2), "box": _Box()})},
        ["eval", "--weights", "{in}/w.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    (
        "weights-truncated",
        {"w.pt": _saved({"w": torch.zeros(64)})[:200]},
        ["eval", "--weights", "{in}/w.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    (
        "weights-not-a-state-dict",
        {"w.pt": _saved([1, 2, 3])},
        ["eval", "--weights", "{in}/w.pt", "--recipe", "toy", "--data", "synthetic:8"],
    ),
    # --- the command line itself (click's usage errors, one line instead of a box) ---
    ("cli-unknown-option", {}, ["status", "--bogus"]),
    ("cli-missing-argument", {}, ["run"]),
    ("cli-seeds-not-an-integer", {}, ["run", "toy", "--seeds", "abc", "--data", "synthetic:8"]),
    ("cli-unknown-command", {}, ["nosuch"]),
    ("spec-duplicate-key", {"s.yaml": _spec("seeds: 3\n")}, ["sweep", "{in}/s.yaml"]),
    ("override-duplicate-key", {"s.yaml": _spec()}, ["sweep", "{in}/s.yaml", "base={x: 0.1, x: 0.2}"]),
    # --- stores and workdirs ---
    (
        "store-garbage",
        {"home/hotlap.db": b"SQLite format 3\x00" + bytes(range(256)) * 20},
        ["ls", "--workdir", "{in}/home"],
    ),
    (
        "store-not-sqlite",
        {"home/hotlap.db": b"just some text, not a database at all\n" * 200},
        ["status", "--workdir", "{in}/home"],
    ),
    ("store-truncated", {"home/hotlap.db": _STORE[:4096]}, ["ls", "--workdir", "{in}/home"]),
    (
        "store-truncated-sweep",
        {"home/hotlap.db": _STORE[:4096], "s.yaml": _spec()},
        ["sweep", "{in}/s.yaml", "--workdir", "{in}/home"],
    ),
    ("store-is-a-folder", {"home/hotlap.db/x": ""}, ["ls", "--workdir", "{in}/home"]),
    ("store-empty", {"home/hotlap.db": b""}, ["status", "--workdir", "{in}/home"]),
    ("download-data-dir-under-a-file", {"f": "x"}, ["download", "cifar10", "--data-dir", "{in}/f/data"]),
    (
        "store-empty-sweep",  # a full disk leaves this file: never taken for a new store
        {"home/hotlap.db": b"", "s.yaml": _spec()},
        ["sweep", "{in}/s.yaml", "--workdir", "{in}/home"],
    ),
    ("workdir-is-a-file", {"home": "not a folder"}, ["ls", "--workdir", "{in}/home"]),
    (
        "workdir-is-a-file-sweep",
        {"home": "not a folder", "s.yaml": _spec()},
        ["sweep", "{in}/s.yaml", "--workdir", "{in}/home"],
    ),
    (
        "run-out-under-a-file",
        {"f": "x"},
        ["run", "toy", "--data", "synthetic:8", "--device", "cpu", "--out", "{in}/f/out"],
    ),
    # --- data files and caches ---
    (
        "data-dir-is-a-file",
        {"f": "x"},
        ["run", "toy", "--data", "cifar10", "--data-dir", "{in}/f", "--device", "cpu"],
    ),
    (
        "cache-junk",
        {"d/cifar10.v1.npz": b"PK\x03\x04 not a zip"},
        ["run", "toy", "--data", "cifar10", "--data-dir", "{in}/d", "--device", "cpu"],
    ),
    (
        "cache-bad-labels",
        {"d/cifar10.v1.npz": _npz(train_labels=np.full(4, 12, np.int64))},
        ["run", "toy", "--data", "cifar10", "--data-dir", "{in}/d", "--device", "cpu"],
    ),
    (
        "cache-bad-shape",
        {"d/cifar10.v1.npz": _npz(train_images=np.zeros((4, 28, 28), np.uint8))},
        ["run", "toy", "--data", "cifar10", "--data-dir", "{in}/d", "--device", "cpu"],
    ),
    (
        "cache-empty",
        {"d/cifar10.v1.npz": _npz(n=0)},
        ["run", "toy", "--data", "cifar10", "--data-dir", "{in}/d", "--device", "cpu"],
    ),
    # --- sizes past the documented limits (each would allocate gigabytes) ---
    ("huge-seeds", {"s.yaml": _spec()}, ["sweep", "{in}/s.yaml", "seeds=1000000000"]),
    ("huge-racing-max", {"s.yaml": _spec()}, ["sweep", "{in}/s.yaml", "seeds={min: 2, max: 1000000000}"]),
    (
        "huge-range",
        {"s.yaml": _spec()},
        ["sweep", "{in}/s.yaml", "space.x={low: 0, high: 1, step: 0.00000001}"],
    ),
    (
        "huge-grid",
        {"s.yaml": _spec("strategy: brute\n")},
        [
            "sweep",
            "{in}/s.yaml",
            "space={x: {low: 0, high: 5}, y: {low: 0, high: 100}, choice: [a, b, c, d]}",
            "variants={" + ", ".join(f"v{i}: {{}}" for i in range(3000)) + "}",
        ],
    ),
    ("huge-synthetic", {}, ["run", "toy", "--data", "synthetic:1000000000", "--device", "cpu"]),
    (
        "huge-run-seeds",
        {},
        ["run", "toy", "--data", "synthetic:8", "--seeds", "1000000000", "--device", "cpu"],
    ),
    # --- checked before any run: what would fail every run, or the sweep's end ---
    (
        "spec-batch-too-big",
        {
            "s.yaml": _spec()
            .replace("recipe: toy", "recipe: airbench94")
            .replace("synthetic:8", "digits")
            .replace("space: {x: [0.1, 0.2]}", "base: {batch_size: 5000}")
        },
        ["sweep", "{in}/s.yaml"],
    ),
    (
        "run-target-above-one",
        {},
        ["run", "toy", "--data", "synthetic:8", "--device", "cpu", "--target", "94"],
    ),
    (
        "plan-workdir-is-a-file",
        {"home": "not a folder", "s.yaml": _spec()},
        ["plan", "{in}/s.yaml", "--workdir", "{in}/home"],
    ),
    ("plan-yaml-syntax", {"s.yaml": "name: [unclosed\n"}, ["plan", "{in}/s.yaml"]),
    ("show-compile-not-a-bool", {}, ["show", "airbench94", "compile=maybe"]),
    ("show-muon-dtype", {}, ["show", "airbench94_muon", "muon_dtype=fp8"]),
    (
        "spec-derived-name-too-long",
        {"s.yaml": _spec("reweight: [0.5]\n", name="n" * 80)},
        ["sweep", "{in}/s.yaml"],
    ),
    # a "billion laughs": nine levels of nine aliases (expanded, 387 million values)
    ("spec-yaml-alias-bomb", {"s.yaml": _spec(_BOMB)}, ["sweep", "{in}/s.yaml", "--dry-run"]),
    (
        "spec-yaml-too-deep",
        {"s.yaml": _spec("notes: " + "[" * 20000 + "]" * 20000 + "\n")},
        ["plan", "{in}/s.yaml"],
    ),
    ("spec-device-file", {}, ["sweep", "/dev/zero"]),
    # no program argument, file name or environment variable can carry a NUL: every run would fail
    ("spec-value-nul", {"s.yaml": _spec('base: {choice: "a\\0b"}\n')}, ["sweep", "{in}/s.yaml"]),
    ("spec-variant-name-escape", {"s.yaml": _spec('variants: {"v\\e[31m": {}}\n')}, ["sweep", "{in}/s.yaml"]),
]


# What the line must name, for the cases where the reason matters most.
NAMES = {
    "spec-yaml-alias-bomb": "aliases expand it to more than",
    "spec-yaml-too-deep": "nested too deeply",
    "spec-device-file": "is not a regular file",
    "spec-value-nul": "NUL character",
    "spec-variant-name-escape": "control character",
    "run-inf": "finite",
    "run-overflow": "finite",
    "show-inf": "finite",
    "spec-base-inf": "finite",
    "spec-space-inf": "space.x",
    "spec-range-inf": "x.high",
    "spec-target-nan": "at_least",
    "spec-budget-inf": "max_time",
    "spec-futility-nan": "futility",
    "eval-training-field": "training",
    "weights-pickle": "safe loader",
    "weights-object": "could run code",
    "weights-truncated": "not a loadable",
    "weights-not-a-state-dict": "state_dict",
    "spec-python-tag": "s.yaml",
    "cli-unknown-option": "--bogus",
    "cli-missing-argument": "recipe",
    "cli-seeds-not-an-integer": "--seeds",
    "spec-duplicate-key": "'seeds' is given twice",
    "override-duplicate-key": "'x' is given twice",
    "store-garbage": "not a readable hotlap store",
    "store-not-sqlite": "not a readable hotlap store",
    "store-truncated": "not a readable hotlap store",
    "store-truncated-sweep": "not a readable hotlap store",
    "store-is-a-folder": "not a file",
    "store-empty": "empty (0 bytes)",
    "download-data-dir-under-a-file": "cannot write to the data directory",
    "store-empty-sweep": "empty (0 bytes)",
    "workdir-is-a-file": "is a file",
    "workdir-is-a-file-sweep": "is a file",
    "run-out-under-a-file": "is a file",
    "data-dir-is-a-file": "is a file",
    "cache-junk": "not a valid cache",
    "cache-bad-labels": "labels outside",
    "cache-bad-shape": "train images",
    "cache-empty": "no train images",
    "huge-seeds": "limit",
    "huge-racing-max": "limit",
    "huge-range": "limit",
    "huge-grid": "limit",
    "huge-synthetic": "limit",
    "huge-run-seeds": "limit",
    "spec-batch-too-big": "no training step",
    "spec-derived-name-too-long": "reweight",
    "run-target-above-one": "--target",
    "plan-workdir-is-a-file": "is a file",
    "plan-yaml-syntax": "not valid YAML",
    "show-compile-not-a-bool": "compile",
    "show-muon-dtype": "muon_dtype",
    "eval-low-above-high": "LOW 0.3 is above HIGH 0.1",
    "eval-step-zero": "STEP",
    "eval-value-out-of-range": "bonus",
}


def _files(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))
    }


def _state(home: Path) -> dict[str, object]:
    """Every file under the workdir (the store as its rows), to compare before and after."""
    state: dict[str, object] = {}
    for path in sorted(home.rglob("*")):
        if path.name.startswith("hotlap.db"):
            continue
        state[str(path.relative_to(home))] = path.read_bytes() if path.is_file() else "dir"
    with sqlite3.connect(home / "hotlap.db") as db:
        state["store"] = list(db.iterdump())
    return state


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A workdir with one finished sweep, `base`."""
    home = tmp_path_factory.mktemp("home")
    with Store(home) as store:
        record, _ = open_sweep(store, parse_spec(yaml.safe_load(_spec(name="base"))))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    return home


@pytest.mark.parametrize(("case", "files", "args"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli, finished, tmp_path, monkeypatch, case, files, args
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, content in files.items():
        target = inputs / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    given = _files(inputs)
    monkeypatch.setenv("HOTLAP_HOME", str(finished))
    monkeypatch.chdir(inputs)
    before = _state(finished)
    with warnings.catch_warnings(record=True) as caught:  # a warning is a second line to a user
        warnings.simplefilter("always")
        code, out, err = cli(*[a.replace("{in}", str(inputs)) for a in args])
    hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning)  # Python hides these
    assert not [str(w.message) for w in caught if not issubclass(w.category, hidden)]
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("hotlap: error: "), err
    assert NAMES.get(case, "") in lines[0]
    assert "Traceback" not in err + out and "errors.pydantic.dev" not in err  # no library's help text
    assert _state(finished) == before
    assert _files(inputs) == given  # nothing written beside the inputs, none of them changed


def test_the_cases_are_distinct_and_many():
    assert len({c[0] for c in CASES}) == len(CASES) >= 60


@pytest.mark.parametrize(
    ("table", "column", "said"),
    [
        ("runs", "metric_values", "the store's run 1 (sweep "),
        ("configs", "params", "the store's swept values of config "),
        ("sweeps", "spec", "the store's spec of sweep "),
    ],
)
def test_a_store_row_that_is_not_json_is_one_line(cli, tmp_path, monkeypatch, table, column, said):
    """A damaged or hand-edited row (its JSON cut short) makes status and report say which row,
    exit 2, no traceback (a JSONDecodeError's traceback before)."""
    home = tmp_path / "home"
    with Store(home) as store:
        record, _ = open_sweep(store, parse_spec(yaml.safe_load(_spec(name="row"))))
        Engine(store, record, InProcessExecutor(warmup=False)).run()
    with sqlite3.connect(home / "hotlap.db") as db:
        db.execute(f"UPDATE {table} SET {column} = '{{cut' WHERE rowid = 1")
    monkeypatch.setenv("HOTLAP_HOME", str(home))
    for command in (["status", record.id], ["report", record.id, "--format", "md"]):
        code, out, err = cli(*command)
        assert code == 2 and said in err and "not valid JSON" in err, (command, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out
