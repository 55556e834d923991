"""The crash-safe store: one SQLite database per workdir, every (config, seed, fidelity) once.

Why it does not lock up or lose work:
- WAL journal: readers never block the writer, and a killed process leaves a consistent database
  (a transaction is either in the log whole or not at all).
- Connections run in autocommit mode and every write is a short `BEGIN IMMEDIATE` transaction, so
  a second writer waits on the busy timeout instead of failing with "database is locked" (the
  deferred transactions that Python's sqlite3 opens by default can deadlock on the lock upgrade and
  fail at once).
- A run row moves queued -> running -> done | failed, each move guarded by the state it leaves,
  and the (sweep, config, seed, fidelity) key is unique. Only the driver of a sweep writes its rows.
- synchronous=NORMAL: a commit survives SIGKILL of the process at any moment; only a power cut
  can lose the last commits (FULL would fsync on every commit, a few ms per run).

The schema version lives in `PRAGMA user_version`; `MIGRATIONS[v]` takes a store from v-1 to v.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hotlap.errors import HotlapError
from hotlap.memory import without_gc
from hotlap.records import (  # re-exported: the store returns them
    SweepRecord,
    sweep_from_row,
)
from hotlap.store.configs import Configs
from hotlap.store.exports import export_columns, export_rows, sweep_columns
from hotlap.store.races import Races, now
from hotlap.store.runs import Runs
from hotlap.store.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION

__all__ = ["Store", "SweepExists", "damaged", "default_workdir", "open_store", "without_gc"]


class SweepExists(HotlapError):
    """A new sweep's name is already taken (by another process, since the caller looked)."""


def damaged(path: Path | None, exc: sqlite3.DatabaseError) -> str:
    """The one line for a store SQLite cannot read or write (`path` None: the workdir's)."""
    reason = str(exc).rstrip(".")
    where = str(path) if path is not None else f"the workdir's {DB_NAME}"
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in reason:
        return f"cannot open the store {where} ({reason}): is its folder writable?"
    if isinstance(exc, sqlite3.OperationalError) and "is full" in reason:
        return (
            f"the disk holding {where} is full ({reason}): free space on it, then run the same command "
            "again; the store is intact (the write that did not fit was rolled back)"
        )
    return (
        f"{where} is not a readable hotlap store ({reason}); move it aside (or restore a backup) "
        "and run again"
    )


class Store(Runs, Races, Configs):
    """A workdir's database. Open it with `open_store(workdir)` (or `hotlap.open`)."""

    def __init__(self, workdir: str | os.PathLike[str], *, create: bool = True) -> None:
        self.workdir = Path(workdir)
        self.path = self.workdir / DB_NAME
        self.read_only = False
        if self.workdir.exists() and not self.workdir.is_dir():
            raise HotlapError(
                f"the workdir {self.workdir} is a file, not a folder; check --workdir / HOTLAP_HOME"
            )
        if not self.path.exists():
            if not create:
                raise HotlapError(
                    f"no hotlap store in {self.workdir} (no {DB_NAME}); check --workdir / HOTLAP_HOME"
                )
            try:
                self.workdir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HotlapError(f"cannot create the workdir {self.workdir}: {exc.strerror}") from None
            self._create()
        elif not self.path.is_file():
            raise HotlapError(f"{self.path} is not a hotlap store (not a file); move it aside")
        elif self.path.stat().st_size == 0:  # SQLite would take it for a new, empty store
            raise HotlapError(
                f"{self.path} is empty (0 bytes), not a store: a full disk leaves one. If this workdir "
                "held sweeps, restore hotlap.db from a backup; if it never did, remove the file"
            )
        elif create and not os.access(self.workdir, os.W_OK):
            raise HotlapError(f"the workdir {self.workdir} is not writable; check --workdir / HOTLAP_HOME")
        writable = os.access(self.workdir, os.W_OK) and os.access(self.path, os.W_OK)
        if not create and not writable:  # an archived store: read as it is, never written (nor its WAL made)
            self._connect_read_only(self.path)
        else:
            self._connect(self.path)

    def _connect_read_only(self, path: Path) -> None:
        uri = f"{path.absolute().as_uri()}?mode=ro&immutable=1"
        try:
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self.db.execute("SELECT count(*) FROM sweeps").fetchone()
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.db.close()
            raise HotlapError(damaged(self.path, exc)) from None
        self.read_only = True
        if version != SCHEMA_VERSION:
            self.db.close()
            raise HotlapError(
                f"{self.path} is read-only and has schema version {version}, not this hotlap's "
                f"{SCHEMA_VERSION}: open it once where it can be written (it is upgraded in place), "
                "or with the hotlap that made it"
            )

    def _connect(self, path: Path) -> None:
        try:
            self.db = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA busy_timeout = 60000")
            self._wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.db.execute("SELECT count(*) FROM sweeps").fetchone()  # reads the schema's pages
        except sqlite3.DatabaseError as exc:  # a damaged or foreign file, or an unwritable folder
            with contextlib.suppress(Exception):
                self.db.close()
            raise HotlapError(damaged(self.path, exc)) from None

    def _create(self) -> None:
        """A new store, made whole beside its place and then linked into it: a store never exists
        half-made (a full disk mid-creation leaves no hotlap.db, not an empty one). Two processes
        creating one store at once: the first link wins, the other opens it."""
        import tempfile

        fd, name = tempfile.mkstemp(prefix=f".{DB_NAME}.", suffix=".new", dir=self.workdir)
        os.close(fd)
        fresh = Path(name)
        try:
            self._connect(fresh)
            self.db.close()  # the last connection: SQLite folds the WAL into the file and removes it
            try:
                os.link(fresh, self.path)
            except FileExistsError:
                pass  # another process made it first
            except OSError:  # a file system without hard links
                if not self.path.exists():
                    os.replace(fresh, self.path)
        except OSError as exc:
            raise HotlapError(f"cannot create the store {self.path}: {exc.strerror or exc}") from None
        finally:
            for leftover in (fresh, *(Path(f"{fresh}{suffix}") for suffix in ("-wal", "-shm"))):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    # --- plumbing ------------------------------------------------------------------------------

    def _wal(self) -> None:
        """WAL mode (a property of the file, kept once set). Switching to it needs the database
        alone, and SQLite does not wait for that: two processes that create one store at once
        would see "database is locked". So the switch is retried for up to a minute."""
        import time

        deadline = time.monotonic() + 60.0
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken with the write lock up front."""
        if self.read_only:
            raise HotlapError(
                f"the store {self.path} is read-only (an archive?), and this writes to it: copy the "
                "workdir somewhere writable to run or resume its sweeps"
            )
        # A Ctrl-C raises where it lands, also right after BEGIN or right before COMMIT: so both
        # are inside the `try`, and whatever was begun is rolled back (an open transaction would
        # make the engine's closing write fail: "cannot start a transaction within a transaction").
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.ProgrammingError):  # (closed: nothing is open)
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        with self.write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HotlapError(
                    f"{self.path} has schema version {version}, newer than this hotlap's "
                    f"{SCHEMA_VERSION}: upgrade hotlap"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sweeps --------------------------------------------------------------------------------

    def create_sweep(
        self,
        *,
        sweep_id: str,
        name: str,
        recipe: str,
        dataset: str,
        spec: dict[str, Any],
        spec_digest: str,
        directory: Path,
    ) -> SweepRecord:
        created = now()
        try:
            self._insert_sweep(sweep_id, name, recipe, dataset, spec, spec_digest, directory, created)
        except sqlite3.IntegrityError:  # the name (or id) was taken since the caller looked
            raise SweepExists(f"sweep {name!r} ({sweep_id}) exists") from None
        sweep = self.sweep(sweep_id)
        assert sweep is not None
        return sweep

    def _insert_sweep(
        self,
        sweep_id: str,
        name: str,
        recipe: str,
        dataset: str,
        spec: dict[str, Any],
        spec_digest: str,
        directory: Path,
        now: str,
    ) -> None:
        with self.write() as db:
            db.execute(
                "INSERT INTO sweeps (id, name, recipe, dataset, spec, spec_digest, directory, state, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (
                    sweep_id,
                    name,
                    recipe,
                    dataset,
                    json.dumps(spec),
                    spec_digest,
                    str(directory),
                    now,
                    now,
                ),
            )

    def sweep_folder(self, sweep: SweepRecord) -> Path:
        """The folder hotlap writes a sweep's files to (and replaces `best/`, `report/` in), as the
        store names it: inside the workdir, or a folder hotlap made (`hotlap run --out`: it is new,
        empty, or holds the sweep's spec.yaml or its run's config.json). A store that names any other folder was altered,
        and writing there could replace the user's files: refused."""
        folder = sweep.directory
        if self.workdir.resolve() in folder.resolve().parents:
            return folder
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise HotlapError(f"sweep {sweep.id}: its folder {folder} is not a folder hotlap made")
        if not folder.exists() or (folder / "spec.yaml").is_file() or not any(folder.iterdir()):
            return folder
        with contextlib.suppress(OSError, ValueError):  # `hotlap run` writes config.json first
            if json.loads((folder / "config.json").read_text()).get("sweep") == sweep.id:
                return folder
        raise HotlapError(
            f"sweep {sweep.id}: the store names the folder {folder}, outside the workdir, and it is "
            "not a sweep folder (no spec.yaml); hotlap will not write there"
        )

    def sweep(self, key: str) -> SweepRecord | None:
        """A sweep by id or by name."""
        row = self.db.execute("SELECT * FROM sweeps WHERE id = ? OR name = ?", (key, key)).fetchone()
        return self._located(sweep_from_row(row)) if row else None

    def sweeps(self) -> list[SweepRecord]:
        return [
            self._located(sweep_from_row(r)) for r in self.db.execute("SELECT * FROM sweeps ORDER BY created")
        ]

    def _located(self, sweep: SweepRecord) -> SweepRecord:
        """The sweep with its folder where the store holds it: a store moved or copied elsewhere (or
        opened from another working folder, where its workdir was relative) keeps its sweeps in its
        own sweeps/ folder, whatever path it recorded."""
        folder = sweep.directory
        if folder.is_absolute() and self.workdir.resolve() in folder.parents:
            return sweep
        own = self.workdir / "sweeps" / folder.name
        if own.is_dir() and own.resolve() != folder.resolve():
            return dataclasses.replace(sweep, directory=own)
        return sweep

    def update_sweep(self, sweep_id: str, **fields: Any) -> None:
        allowed = {"state", "message", "spec", "trials_asked"}
        assert set(fields) <= allowed, fields
        if "spec" in fields:
            fields["spec"] = json.dumps(fields["spec"])
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self.write() as db:
            db.execute(
                f"UPDATE sweeps SET {assignments}, updated = ? WHERE id = ?",
                (*fields.values(), now(), sweep_id),
            )

    def require(self, key: str) -> SweepRecord:
        """A sweep by id or name, or a one-line error listing what exists."""
        sweep = self.sweep(key)
        if sweep is None:
            known = [s.id for s in self.sweeps()]
            hint = f"known: {', '.join(known[-5:])}" if known else "the store has no sweeps"
            raise HotlapError(f"no sweep {key!r} in {self.workdir} ({hint})")
        return sweep

    def export_table(self, key: str) -> tuple[list[str], list[dict[str, Any]]]:
        """(columns, one row per run) of sweep `key` (id or name): what `hotlap export` writes."""
        sweep = self.require(key)
        swept, metrics = sweep_columns(sweep)
        runs = self.runs(sweep.id, details=False)  # (no histories: no column holds them)
        rows = export_rows(sweep.name, swept, metrics, self.configs(sweep.id), runs)
        return export_columns(swept, metrics), rows

    def to_pandas(self, key: str):  # type: ignore[no-untyped-def]
        """One row per run of sweep `key` (id or name): the columns of `hotlap export`."""
        import pandas as pd

        columns, rows = self.export_table(key)
        return pd.DataFrame(rows, columns=columns)


def default_workdir() -> Path:
    """`$HOTLAP_HOME`, else `./hotlap-runs`."""
    return Path(os.environ.get("HOTLAP_HOME", "hotlap-runs"))


def open_store(workdir: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """The store of `workdir` (default `default_workdir()`)."""
    return Store(workdir if workdir is not None else default_workdir(), create=create)
