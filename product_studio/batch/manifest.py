"""The job manifest: one SQLite file that remembers every run and every input's last result, so a
batch can be stopped (or killed) at any moment and rerun to finish the work exactly once.

Default location: ``<output>/.product-studio/manifest.sqlite`` (or ``--manifest PATH``). Stdlib
``sqlite3`` in WAL mode with ``synchronous=NORMAL``: a commit survives the process being killed
(only a power cut can lose the last commits, which then look unfinished and are redone). One
writer at a time, enforced with an exclusive ``flock`` on ``<manifest>.lock``; readers
(``product-studio jobs``) never block it.

Tables:

``runs``
    one row per ``process`` run: when, the command line, the resolved recipe (JSON) and its hash,
    the preset, the output folder, engine and workers, ``state`` (running | finished |
    interrupted) and the counts when it ends.
``items``
    one row per input per output folder: the input's content hash (sha256 of its bytes) and the
    recipe hash its result belongs to, ``status`` (pending | running | done | failed), the error,
    the output path, size and bytes, timings, the compliance result (JSON), ``attempts`` (how many
    times processing started), the last run that touched it, and the input's size and mtime when
    processing started (used to judge an interrupted item's output, see ``local.py``).
``run_items``
    which inputs each run covered and what it did with each: ``processed``, ``adopted``
    (an interrupted run's output verified and kept), ``skipped`` (done earlier) or ``failed``.

Writes are batched: results go into an open transaction that is committed every
``commit_every`` results or ``commit_seconds`` seconds, whichever comes first; marking items
``running`` commits at once, because the crash-safety argument needs it on disk before a worker
can write an output.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..inputs import STATE_DIR

MANIFEST_DIR = STATE_DIR  # inputs.find_inputs knows a folder holding it as an output folder
MANIFEST_NAME = "manifest.sqlite"
STATUSES = ("pending", "running", "done", "failed")
OUTCOMES = ("processed", "adopted", "skipped", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started     REAL NOT NULL,
    finished    REAL,
    state       TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished', 'interrupted')),
    command     TEXT,
    recipe      TEXT NOT NULL,
    recipe_hash TEXT NOT NULL,
    preset      TEXT,
    output_dir  TEXT NOT NULL,
    engine      TEXT NOT NULL,
    workers     INTEGER,
    version     TEXT,
    inputs      INTEGER,
    processed   INTEGER,
    skipped     INTEGER,
    adopted     INTEGER,
    done        INTEGER,
    failed      INTEGER,
    compliant   INTEGER,
    seconds     REAL
);
CREATE TABLE IF NOT EXISTS items (
    id            INTEGER PRIMARY KEY,
    output_dir    TEXT NOT NULL,
    input         TEXT NOT NULL,
    relative      TEXT NOT NULL,
    content_hash  TEXT,
    recipe_hash   TEXT,
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    error         TEXT,
    error_type    TEXT,
    output        TEXT,
    output_bytes  INTEGER,
    input_size    TEXT,
    output_size   TEXT,
    quality       INTEGER,
    seconds       REAL,
    timings       TEXT,
    compliance    TEXT,
    thumb_before  TEXT,
    thumb_after   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_id        INTEGER REFERENCES runs (id),
    input_bytes   INTEGER,
    input_mtime   INTEGER,
    updated       REAL NOT NULL,
    UNIQUE (output_dir, input)
);
CREATE INDEX IF NOT EXISTS items_status ON items (output_dir, status);
CREATE TABLE IF NOT EXISTS run_items (
    run_id   INTEGER NOT NULL REFERENCES runs (id),
    item_id  INTEGER NOT NULL REFERENCES items (id),
    outcome  TEXT NOT NULL CHECK (outcome IN ('processed', 'adopted', 'skipped', 'failed')),
    PRIMARY KEY (run_id, item_id)
) WITHOUT ROWID;
"""

ITEM_COLUMNS = (
    "id", "output_dir", "input", "relative", "content_hash", "recipe_hash", "status", "error", "error_type",
    "output", "output_bytes", "input_size", "output_size", "quality", "seconds", "timings", "compliance",
    "thumb_before", "thumb_after", "attempts", "run_id", "input_bytes", "input_mtime", "updated",
)
_JSON_COLUMNS = ("input_size", "output_size", "timings", "compliance")


def default_manifest_path(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / MANIFEST_DIR / MANIFEST_NAME


def input_key(path: str | os.PathLike) -> str:
    """How an input is named in the manifest: an absolute local path, or a URL as given."""
    text = str(path)
    return text if "://" in text else str(Path(text).resolve())


@dataclass
class ItemRow:
    """An ``items`` row, JSON columns decoded."""

    id: int
    output_dir: str
    input: str
    relative: str
    content_hash: str | None
    recipe_hash: str | None
    status: str
    error: str | None
    error_type: str | None
    output: str | None
    output_bytes: int | None
    input_size: list[int] | None
    output_size: list[int] | None
    quality: int | None
    seconds: float | None
    timings: list[dict[str, Any]] | None
    compliance: dict[str, Any] | None
    thumb_before: str | None
    thumb_after: str | None
    attempts: int
    run_id: int | None
    input_bytes: int | None
    input_mtime: int | None
    updated: float

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple) -> ItemRow:
        values = dict(zip(ITEM_COLUMNS, row))
        for key in _JSON_COLUMNS:
            if values[key] is not None:
                values[key] = json.loads(values[key])
        return cls(**values)


class Manifest:
    """A manifest file, opened for reading (``readonly=True``) or as the single writer.

    >>> with Manifest("out/.product-studio/manifest.sqlite") as m:   # doctest: +SKIP
    ...     run_id = m.start_run(recipe=recipe, output_dir="out", engine="local", workers=2)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        readonly: bool = False,
        commit_every: int = 256,
        commit_seconds: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.seconds = 0.0  # time spent in this object's methods (the manifest's cost)
        self._lock_fd: int | None = None
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        if readonly:
            if not self.path.is_file():
                raise UsageError(f"no manifest at {self.path}; give --manifest PATH or the -o folder of a run")
            uri = f"file:{self.path.resolve()}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout = 5000")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.executescript(SCHEMA)
        # Only one writer exists (the lock), so any run still 'running' was killed.
        self.db.execute("UPDATE runs SET state = 'interrupted' WHERE state = 'running'")

    # -- life cycle ------------------------------------------------------------------------------

    def _lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(
                f"the manifest {self.path} is in use by another run; wait for it, or give this run its own --manifest"
            ) from None
        self._lock_fd = fd

    def close(self) -> None:
        if getattr(self, "db", None) is not None:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self.db.close()
            self.db = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def commit(self) -> None:
        with self._timed():
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self._uncommitted = 0
            self._last_commit = time.monotonic()

    def _maybe_commit(self) -> None:
        self._uncommitted += 1
        if self._uncommitted >= self.commit_every or time.monotonic() - self._last_commit >= self.commit_seconds:
            self.commit()

    # -- runs ------------------------------------------------------------------------------------

    def start_run(
        self,
        *,
        recipe: dict[str, Any],
        recipe_hash: str,
        preset: str | None,
        output_dir: str,
        engine: str,
        workers: int,
        command: str | None = None,
        version: str | None = None,
    ) -> int:
        with self._timed():
            cur = self.db.execute(
                "INSERT INTO runs (started, command, recipe, recipe_hash, preset, output_dir, engine, workers, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), command, json.dumps(recipe, sort_keys=True), recipe_hash, preset, output_dir, engine,
                 workers, version),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, *, counts: dict[str, Any], seconds: float) -> None:
        with self._timed():
            self._begin()
            self.db.execute(
                "UPDATE runs SET finished = ?, state = 'finished', inputs = ?, processed = ?, skipped = ?, adopted = ?,"
                " done = ?, failed = ?, compliant = ?, seconds = ? WHERE id = ?",
                (time.time(), counts.get("inputs"), counts.get("processed"), counts.get("skipped"),
                 counts.get("adopted"), counts.get("done"), counts.get("failed"), counts.get("compliant"),
                 seconds, run_id),
            )
        self.commit()

    def runs(self, *, output_dir: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs" + (" WHERE output_dir = ?" if output_dir else "") + " ORDER BY id"
        cur = self.db.execute(sql, (output_dir,) if output_dir else ())
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            doc = dict(zip(names, row))
            doc["recipe"] = json.loads(doc["recipe"])
            out.append(doc)
        return out

    def run(self, run_id: int) -> dict[str, Any]:
        cur = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            raise UsageError(f"no run {run_id} in {self.path}; `product-studio jobs list` shows the runs")
        doc = dict(zip([d[0] for d in cur.description], row))
        doc["recipe"] = json.loads(doc["recipe"])
        return doc

    def run_outcomes(self, run_id: int) -> dict[str, int]:
        rows = self.db.execute("SELECT outcome, COUNT(*) FROM run_items WHERE run_id = ? GROUP BY outcome", (run_id,))
        return {outcome: n for outcome, n in rows}

    def run_items(self, run_id: int) -> list[tuple[str, ItemRow]]:
        """(outcome, item) for every input the run covered, in input order; each item as it is now."""
        cols = ", ".join(f"i.{c}" for c in ITEM_COLUMNS)
        cur = self.db.execute(
            f"SELECT r.outcome, {cols} FROM run_items r JOIN items i ON i.id = r.item_id WHERE r.run_id = ? ORDER BY i.input",
            (run_id,),
        )
        return [(row[0], ItemRow.from_row(row[1:])) for row in cur.fetchall()]

    # -- items -----------------------------------------------------------------------------------

    def items(self, output_dir: str, inputs: Iterable[tuple[str, str]]) -> dict[str, ItemRow]:
        """The rows of ``inputs`` ((input key, relative) pairs) below ``output_dir``, creating
        missing ones as ``pending``; keyed by input key. One transaction, committed."""
        with self._timed():
            now = time.time()
            self._begin()
            self.db.executemany(
                "INSERT OR IGNORE INTO items (output_dir, input, relative, updated) VALUES (?, ?, ?, ?)",
                ((output_dir, key, rel, now) for key, rel in inputs),
            )
            cur = self.db.execute(f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE output_dir = ?", (output_dir,))
            rows = {r.input: r for r in map(ItemRow.from_row, cur.fetchall())}
        self.commit()
        return rows

    def item(self, output_dir: str, key: str) -> ItemRow | None:
        cur = self.db.execute(
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE output_dir = ? AND input = ?", (output_dir, key)
        )
        row = cur.fetchone()
        return None if row is None else ItemRow.from_row(row)

    def status_counts(self, output_dir: str | None = None) -> dict[str, int]:
        sql = "SELECT status, COUNT(*) FROM items" + (" WHERE output_dir = ?" if output_dir else "") + " GROUP BY status"
        return {s: n for s, n in self.db.execute(sql, (output_dir,) if output_dir else ())}

    def mark_running(
        self, run_id: int, recipe_hash: str, entries: Iterable[tuple[int, int | None, int | None]], *, count_attempt: bool = True
    ) -> None:
        """Mark items ``running`` for this run and commit at once.

        entries: (item id, input size in bytes, input mtime in ns) at the moment processing starts.
        """
        with self._timed():
            now = time.time()
            self._begin()
            self.db.executemany(
                "UPDATE items SET status = 'running', run_id = ?, recipe_hash = ?, input_bytes = ?, input_mtime = ?,"
                f" attempts = attempts + {1 if count_attempt else 0}, updated = ? WHERE id = ?",
                ((run_id, recipe_hash, size, mtime, now, item_id) for item_id, size, mtime in entries),
            )
        self.commit()

    def record(self, run_id: int, item_id: int, outcome: str, result: Any, *, recipe_hash: str, extra_attempt: bool = False) -> None:
        """Store a worker's FileResult for an item (batched commit) and what this run did with it."""
        with self._timed():
            self._begin()
            self.db.execute(
                "UPDATE items SET status = ?, content_hash = COALESCE(?, content_hash), recipe_hash = ?, error = ?,"
                " error_type = ?, output = ?, output_bytes = ?, input_size = ?, output_size = ?, quality = ?,"
                " seconds = ?, timings = ?, compliance = ?, thumb_before = ?, thumb_after = ?, run_id = ?,"
                f" attempts = attempts + {1 if extra_attempt else 0}, updated = ? WHERE id = ?",
                (
                    result.status, result.content_hash, recipe_hash, result.error, result.error_type, result.output,
                    result.output_bytes, _json(result.input_size), _json(result.output_size), result.quality,
                    result.seconds, _json(result.steps), _json(result.compliance), result.thumb_before,
                    result.thumb_after, run_id, time.time(), item_id,
                ),
            )
            self.db.execute(
                "INSERT OR REPLACE INTO run_items (run_id, item_id, outcome) VALUES (?, ?, ?)", (run_id, item_id, outcome)
            )
        self._maybe_commit()

    def record_skipped(self, run_id: int, item_id: int) -> None:
        """This run found the item already finished (done, or failed and not retried)."""
        with self._timed():
            self._begin()
            self.db.execute(
                "INSERT OR REPLACE INTO run_items (run_id, item_id, outcome) VALUES (?, ?, 'skipped')", (run_id, item_id)
            )
        self._maybe_commit()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)
