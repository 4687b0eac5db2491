"""SQLite audit log: one row per action, hash-chained, with one writer (the driver).

Row hash = SHA-256(previous row hash + canonical JSON of the row). `verify`
recomputes the chain, so an edited, inserted or deleted row is found; each
finished run also stores its event count and head hash, so a deleted tail is
found too. No column ever holds an identifying value: locations are tag paths,
values are keyed fingerprints.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import AuditError
from ..sqlite_errors import kind as sqlite_kind
from .events import AuditEvent

GENESIS = "0" * 64
EVENT_COLS = ("seq", "run_id", "item", "location", "action", "category", "rule_id", "fingerprint", "detail")
RUN_COLS = (
    "run_id",
    "started",
    "finished",
    "pipeline",
    "policy_hash",
    "versions",
    "key_id",
    "files_ok",
    "files_quarantined",
    "event_count",
    "head_hash",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, started REAL, finished REAL, pipeline TEXT, policy_hash TEXT,
  versions TEXT, key_id TEXT, files_ok INTEGER, files_quarantined INTEGER,
  event_count INTEGER, head_hash TEXT, row_hash TEXT);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, item TEXT NOT NULL, location TEXT NOT NULL,
  action TEXT NOT NULL, category TEXT NOT NULL, rule_id TEXT NOT NULL, fingerprint TEXT NOT NULL,
  detail TEXT NOT NULL, prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_item ON events(item);
CREATE TABLE IF NOT EXISTS run_inputs (run_id TEXT PRIMARY KEY, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS done (
  run_id TEXT NOT NULL, path_fp TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (run_id, path_fp));
"""
# run_inputs and done are the resume index, not audit claims (not hash-chained): a keyed
# fingerprint of the run's inputs and of each finished input path, never the paths.


_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _hash(prev: str, row: Iterable) -> str:
    blob = _CANONICAL.encode(list(row))
    return hashlib.sha256((prev + blob).encode("utf-8")).hexdigest()


@dataclass
class FileRecord:
    item: str
    status: str  # "ok" | "quarantined" | "error" (not written and not copied aside)
    fingerprint: str  # keyed fingerprint of the input bytes
    detail: str  # output relpath, or the reason it was not written


FILE_ACTIONS = {"ok": "write", "quarantined": "quarantine", "error": "error"}  # status -> file row action


class AuditFull(AuditError):
    """The audit log's disk is full: the run stops (exit 3) and resumes once there is room."""


def _problem(path: Path, exc: sqlite3.Error, doing: str) -> AuditError:
    what = sqlite_kind(exc)
    if what == "busy":
        return AuditError(
            f"audit log {path} is locked by another process (a program holding it open for "
            "writing, e.g. an sqlite3 shell in a transaction): close it, then run again"
        )
    if what == "full":
        return AuditFull(f"audit log {path}: the disk is full; free space, then run the same command again to resume")
    if what == "not-a-db":
        return AuditError(f"{path} is not a deid audit log (SQLite with an events table)")
    return AuditError(f"audit log {path}: cannot {doing} ({what}: {type(exc).__name__}); check the file and its folder")


@contextmanager
def _sql(path: Path, doing: str) -> Iterator[None]:
    """SQLite errors as an AuditError that says what to do (never a value)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _problem(path, exc, doing) from None


class AuditLog:
    """Append-only writer. Use one per process that writes (the engine's driver)."""

    BUSY_SECONDS = 2.0  # how long a write waits for another process to let go of the file

    def __init__(self, path: str | Path, durable: bool = False):
        """`durable`: each commit is on disk when it returns (SQLite synchronous=FULL), for a
        writer that deletes the only other trace of an input right after (the gateway's
        spool entry); otherwise a power cut may undo the last commits (WAL, NORMAL), which
        a resumed `deid run` redoes."""
        self.path = Path(path)
        if str(path) != ":memory:":
            _private_file(self.path)
        with _sql(self.path, "open it"):
            self.db = sqlite3.connect(str(self.path), timeout=self.BUSY_SECONDS)
        try:
            with _sql(self.path, "open it"):
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
                row = self.db.execute("SELECT seq, row_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        except AuditError:
            self.db.close()
            raise
        self.seq: int
        self.head: str  # the last row's hash
        self.seq, self.head = (row[0], row[1]) if row else (0, GENESIS)
        self.run_id = ""
        self.run_events = 0
        self.counts = {"ok": 0, "quarantined": 0}
        self._uncommitted = 0
        self._last_commit = time.monotonic()

    def start_run(self, pipeline: str, policy_hash: str, versions: dict, key_id: str, signature: str = "") -> str:
        """`signature`: keyed fingerprint of (policy, key, inputs, output), for resume."""
        self.run_id = uuid.uuid4().hex
        self.run_events = 0
        self.counts = {"ok": 0, "quarantined": 0, "error": 0}
        with _sql(self.path, "start a run in it"):
            self.db.execute(
                "INSERT INTO runs (run_id, started, pipeline, policy_hash, versions, key_id) VALUES (?,?,?,?,?,?)",
                (self.run_id, time.time(), pipeline, policy_hash, json.dumps(versions, sort_keys=True), key_id),
            )
            if signature:
                self.db.execute("INSERT INTO run_inputs VALUES (?,?)", (self.run_id, signature))
            self.db.commit()
        return self.run_id

    def unfinished(self, signature: str) -> list[str]:
        """Runs with this signature since its last finished one, all interrupted: the
        work a resumed run continues (oldest first); [] when the last one finished."""
        rows = self.db.execute(
            "SELECT r.run_id, r.finished FROM runs r JOIN run_inputs i USING (run_id) "
            "WHERE i.signature=? ORDER BY r.started",
            (signature,),
        ).fetchall()
        out: list[str] = []
        for run_id, finished in rows:
            out = [] if finished is not None else out + [run_id]
        return out

    def done_paths(self, run_ids: list[str]) -> dict[str, str]:
        """Path fingerprint -> status ("ok" | "quarantined") of the inputs those runs finished."""
        out: dict[str, str] = {}
        for rid in run_ids:
            out.update(self.db.execute("SELECT path_fp, status FROM done WHERE run_id=?", (rid,)).fetchall())
        return out

    COMMIT_EVERY = 256  # files per transaction, at most
    COMMIT_SECONDS = 1.0  # ... or this long since the last commit

    def record(self, file: FileRecord, events: list[AuditEvent], path_fp: str = "") -> None:
        """One file's events plus its file row (and its resume mark). Rows are committed
        in batches (a transaction per file made the driver the bottleneck); an input
        counts as done only once its batch commits, after its output is in place, so a
        crash loses at most the last batch, whose inputs a resumed run does again."""
        rows = []
        for ev in events:
            rows.append((file.item, ev.location, ev.action, ev.category, ev.rule_id, ev.fingerprint, ev.detail))
        rows.append((file.item, "<file>", FILE_ACTIONS[file.status], "file", "engine", file.fingerprint, file.detail))
        with _sql(self.path, "write to it"):
            self._chain(rows)
            if path_fp:
                self.db.execute("INSERT OR REPLACE INTO done VALUES (?,?,?)", (self.run_id, path_fp, file.status))
        self._uncommitted += 1
        if self._uncommitted >= self.COMMIT_EVERY or time.monotonic() - self._last_commit >= self.COMMIT_SECONDS:
            self.commit()
        self.counts[file.status] = self.counts.get(file.status, 0) + 1

    def record_events(self, item: str, events: list[AuditEvent]) -> None:
        """Events on an output already recorded as written, with no file row of their own
        (the release pass's generalisations and suppressions: deid/risk/release.py), so the
        run's file accounting is unchanged."""
        with _sql(self.path, "write to it"):
            self._chain(
                [(item, ev.location, ev.action, ev.category, ev.rule_id, ev.fingerprint, ev.detail) for ev in events]
            )
        self.commit()

    def _chain(self, rows: list[tuple]) -> None:
        """Rows appended to the hash chain (inside the caller's error handling)."""
        out = []
        for r in rows:
            self.seq += 1
            full = (self.seq, self.run_id) + r
            h = _hash(self.head, full)
            out.append(full + (self.head, h))
            self.head = h
        self.db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", out)
        self.run_events += len(out)

    def record_note(self, item: str, events: list[AuditEvent]) -> None:
        """Rows about something that is not an input (a DICOM association the gateway
        served: who called, how many instances), hash-chained like the rest, with no file
        row, so the accounting of inputs is unchanged. Committed with the next batch."""
        out = []
        for ev in events:
            self.seq += 1
            full = (
                self.seq,
                self.run_id,
                item,
                ev.location,
                ev.action,
                ev.category,
                ev.rule_id,
                ev.fingerprint,
                ev.detail,
            )
            h = _hash(self.head, full)
            out.append(full + (self.head, h))
            self.head = h
        with _sql(self.path, "write to it"):
            self.db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", out)
        self.run_events += len(out)

    # called first by every commit, e.g. the vault's own commit (deid/vault.py), so what an
    # input left there is stored before the input counts as done
    before_commit: Callable[[], None] | None = None

    # called after every commit, e.g. the gateway's: what it recorded leaves the spool
    after_commit: Callable[[], None] | None = None

    def commit(self) -> None:
        if self.before_commit is not None:
            self.before_commit()
        with _sql(self.path, "write to it"):
            self.db.commit()
        self._uncommitted = 0
        self._last_commit = time.monotonic()
        if self.after_commit is not None:
            self.after_commit()

    def finish_run(self) -> None:
        self.commit()
        row = self.db.execute(
            "SELECT run_id, started, pipeline, policy_hash, versions, key_id FROM runs WHERE run_id=?", (self.run_id,)
        ).fetchone()
        finished = time.time()
        vals = dict(zip(("run_id", "started", "pipeline", "policy_hash", "versions", "key_id"), row))
        vals.update(
            finished=finished,
            files_ok=self.counts.get("ok", 0),  # not written: quarantined or errors
            files_quarantined=self.counts.get("quarantined", 0) + self.counts.get("error", 0),
            event_count=self.run_events,
            head_hash=self.head,
        )
        rh = _hash(GENESIS, [vals[c] for c in RUN_COLS])
        with _sql(self.path, "write to it"), self.db:
            self.db.execute(
                "UPDATE runs SET finished=?, files_ok=?, files_quarantined=?, event_count=?, "
                "head_hash=?, row_hash=? WHERE run_id=?",
                (finished, vals["files_ok"], vals["files_quarantined"], self.run_events, self.head, rh, self.run_id),
            )

    def file_rows(self) -> dict[str, tuple[int, int]]:
        """This run's file rows as recorded (committed or not): action -> (rows, rows
        without a reason); what the accounting check compares with what the run counted."""
        with _sql(self.path, "read it"):
            return {
                a: (n, blank)
                for a, n, blank in self.db.execute(
                    "SELECT action, COUNT(*), SUM(detail='') FROM events WHERE run_id=? AND location='<file>' "
                    "GROUP BY action",
                    (self.run_id,),
                )
            }

    def outputs(self) -> Iterator[str]:
        """The output paths this run recorded as written."""
        with _sql(self.path, "read it"):
            rows = self.db.execute(
                "SELECT detail FROM events WHERE run_id=? AND location='<file>' AND action='write'", (self.run_id,)
            )
            yield from (r[0] for r in rows)

    def close(self) -> None:
        try:
            self.commit()
        except AuditError:
            self.abandon()
            raise
        self.db.close()

    def abandon(self) -> None:
        """Close without committing the open batch: its inputs do not count as done (e.g.
        when the vault could not store their mappings), so a resumed run redoes them."""
        self.db.close()


# -- reading -----------------------------------------------------------------------
def _private_file(path: Path) -> None:
    """The audit log, mode 0600 (its WAL and shared-memory files get the same mode):
    made so before SQLite opens it, and an existing one of ours tightened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError as exc:
        raise AuditError(f"cannot open audit log {path}: {exc.strerror or type(exc).__name__}") from None


def open_readonly(path: str | Path) -> sqlite3.Connection:
    p = Path(path)
    if not p.is_file():
        raise AuditError(f"audit log {p} does not exist")
    try:
        db = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        db.execute("SELECT 1 FROM events LIMIT 1")
    except sqlite3.DatabaseError:
        raise AuditError(f"{p} is not a deid audit log (SQLite with an events table)") from None
    return db


def verify(path: str | Path) -> list[str]:
    """Return a list of problems; empty means the chain and every finished run check out."""
    db = open_readonly(path)
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    per_run: dict[str, tuple[int, str]] = {}
    for row in db.execute(f"SELECT {', '.join(EVENT_COLS)}, prev_hash, row_hash FROM events ORDER BY seq"):
        data, prev_hash, row_hash = row[:9], row[9], row[10]
        if data[0] != expected_seq:
            problems.append(f"event seq {expected_seq} to {data[0] - 1} missing (rows deleted)")
        expected_seq = data[0] + 1
        if prev_hash != prev:
            problems.append(f"event seq {data[0]}: chain broken (a row before it was changed or deleted)")
        if _hash(prev_hash, data) != row_hash:
            problems.append(f"event seq {data[0]}: row content does not match its hash (edited)")
        prev = row_hash
        n, _h = per_run.get(data[1], (0, ""))
        per_run[data[1]] = (n + 1, row_hash)
    for r in db.execute(f"SELECT {', '.join(RUN_COLS)}, row_hash FROM runs"):
        vals = dict(zip(RUN_COLS, r[:-1]))
        if vals["finished"] is None:
            continue  # an interrupted run: its events are still chained
        if _hash(GENESIS, [vals[c] for c in RUN_COLS]) != r[-1]:
            problems.append(f"run {vals['run_id']}: run row edited")
        n, head = per_run.get(vals["run_id"], (0, GENESIS))
        if n != vals["event_count"] or (n and head != vals["head_hash"]):
            problems.append(
                f"run {vals['run_id']}: has {n} events, recorded {vals['event_count']} (rows deleted or added)"
            )
    db.close()
    return problems


def iter_events(path: str | Path, item: str | None = None) -> Iterator[dict]:
    db = open_readonly(path)
    sql = f"SELECT {', '.join(EVENT_COLS)} FROM events"
    args: tuple = ()
    if item is not None:
        sql += " WHERE item=?"
        args = (item,)
    for row in db.execute(sql + " ORDER BY seq", args):
        yield dict(zip(EVENT_COLS, row))
    db.close()


def runs(path: str | Path) -> list[dict]:
    db = open_readonly(path)
    out = [dict(zip(RUN_COLS, r)) for r in db.execute(f"SELECT {', '.join(RUN_COLS)} FROM runs ORDER BY started")]
    db.close()
    return out
