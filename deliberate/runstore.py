"""Finished runs (as event streams) and batch results in an embedded SQLite database.

The database lives in the data directory: `./data` unless DELIBERATE_DATA_DIR names another.
Every call opens its own connection, so threads and sessions can share one store; WAL mode lets
readers proceed while a writer commits.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.events import (
    Event,
    NodeAdded,
    RunStarted,
    from_json_lines,
    to_json_line,
)
from core.ledger import Ledger
from core.tree import ReasoningTree
from deliberate.batch import BatchRow

DATA_DIR_ENV = "DELIBERATE_DATA_DIR"
DB_NAME = "deliberate.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    source TEXT NOT NULL,
    strategy TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    question TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    verifier TEXT NOT NULL,
    budget_n INTEGER NOT NULL,
    finish TEXT NOT NULL,
    answer TEXT,
    correct INTEGER,
    nodes INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    generate_tokens INTEGER NOT NULL,
    generate_seconds REAL NOT NULL,
    seconds REAL NOT NULL,
    cost_usd REAL,
    events TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    label TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS batch_rows (
    batch_id TEXT NOT NULL REFERENCES batches (batch_id),
    seq INTEGER NOT NULL,
    problem_id TEXT NOT NULL,
    difficulty TEXT NOT NULL,
    strategy TEXT NOT NULL,
    budget INTEGER NOT NULL,
    answer TEXT,
    correct INTEGER,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    cost_usd REAL,
    finish TEXT NOT NULL,
    run_id TEXT,
    any_correct INTEGER,
    PRIMARY KEY (batch_id, seq)
);
"""


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    created: float
    source: str  # live | compare | batch | upload | recorded (a shipped batch's runs)
    strategy: str
    problem_id: str
    question: str
    model: str
    budget_n: int
    finish: str
    answer: str | None
    correct: bool | None
    nodes: int
    output_tokens: int
    seconds: float
    cost_usd: float | None


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    created: float
    label: str
    config: dict[str, Any]
    status: str  # running | complete | stopped | error | interrupted (its process died)
    message: str
    rows: int


def _alive(pid: int | None) -> bool:
    """Whether the process that started a batch still runs (unknown for old stores: yes)."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _run_values(events: Sequence[Event], source: str, created: float) -> tuple[Any, ...]:
    """A run's row of the runs table; ValueError without a RunStarted."""
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    if started is None:
        raise ValueError("a run without a RunStarted event cannot be stored or replayed")
    tree = ReasoningTree.from_events(events)
    ledger = Ledger.from_events(events)
    generate = ledger.role("generate")
    chosen, finished = tree.chosen, tree.finished
    correct = None if chosen is None or chosen.correct is None else int(chosen.correct)
    return (
        started.run_id,
        created,
        source,
        started.strategy,
        started.problem_id,
        started.question,
        started.provider,
        started.model,
        started.verifier,
        int(started.budget.get("n", 1)),
        finished.reason if finished else "stopped",
        chosen.answer if chosen else None,
        correct,
        sum(isinstance(e, NodeAdded) for e in events),
        ledger.total.input_tokens,
        ledger.total.output_tokens,
        generate.output_tokens,
        generate.seconds,
        ledger.total.seconds,
        ledger.total.cost_usd,
        "\n".join(to_json_line(e) for e in events),
    )


def _row_values(batch_id: str, seq: int, row: BatchRow, run_id: str | None) -> tuple[Any, ...]:
    """A batch row's row of the batch_rows table."""
    return (
        batch_id,
        seq,
        row.problem_id,
        row.difficulty,
        row.strategy,
        row.budget,
        row.answer,
        None if row.correct is None else int(row.correct),
        row.input_tokens,
        row.output_tokens,
        row.seconds,
        row.cost_usd,
        row.finish,
        run_id,
        None if row.any_correct is None else int(row.any_correct),
    )


class RunStore:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_NAME
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            # Stores made before batches knew their process, and before rows recorded pass@N.
            for table, column in (("batches", "pid"), ("batch_rows", "any_correct")):
                columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    with contextlib.suppress(sqlite3.OperationalError):  # another process did it
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection; the block is one transaction (committed unless it raises)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            yield db

    # Runs

    def save_run(self, events: Sequence[Event], source: str) -> str:
        """Store a run's whole event stream; returns its run id (from RunStarted)."""
        row = _run_values(events, source, time.time())
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO runs VALUES ({','.join('?' * len(row))})", row)
        return row[0]

    def save_batch(
        self,
        batch_id: str,
        label: str,
        config: dict[str, Any],
        runs: Sequence[tuple[Sequence[Event], BatchRow]],
        created: float,
        source: str = "recorded",
    ) -> None:
        """Store a finished batch whole, in one transaction: its runs (in order, with their
        rows) and the batch. A `batch_id` already stored raises sqlite3.IntegrityError and
        stores nothing."""
        values = [_run_values(events, source, created) for events, _ in runs]
        with self._connect() as db:
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, 'complete', '', NULL)",
                (batch_id, created, label, json.dumps(config)),
            )
            db.executemany(f"INSERT OR REPLACE INTO runs VALUES ({','.join('?' * 21)})", values)
            db.executemany(
                f"INSERT INTO batch_rows VALUES ({','.join('?' * 15)})",
                [_row_values(batch_id, i, row, values[i][0]) for i, (_, row) in enumerate(runs)],
            )

    def save_upload(self, events: Sequence[Event]) -> str:
        """Store an uploaded run (source 'upload', events checked by `parse_run`); returns its
        run id. The same run already stored is kept as it is; another run stored under the same
        id is never replaced: the upload gets a fresh id."""
        started = events[0] if events else None
        if not isinstance(started, RunStarted):
            raise ValueError("an uploaded run starts with run_started (parse_run checks it)")
        with contextlib.suppress(KeyError):
            if self.load_events(started.run_id) == list(events):
                return started.run_id
            fresh = replace(started, run_id=f"{started.run_id}-{uuid.uuid4().hex[:8]}")
            events = [fresh, *events[1:]]
        return self.save_run(events, source="upload")

    def list_runs(self, source: str | None = None, limit: int = 500) -> list[RunInfo]:
        """Newest first."""
        query = (
            "SELECT run_id, created, source, strategy, problem_id, question, model, budget_n, "
            "finish, answer, correct, nodes, output_tokens, seconds, cost_usd FROM runs"
        )
        args: tuple[Any, ...] = ()
        if source is not None:
            query += " WHERE source = ?"
            args = (source,)
        query += " ORDER BY created DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit)).fetchall()
        return [RunInfo(*r[:10], _bool(r[10]), *r[11:]) for r in rows]

    def load_events(self, run_id: str) -> list[Event]:
        with self._connect() as db:
            row = db.execute("SELECT events FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no stored run {run_id!r}")
        return from_json_lines(row[0].splitlines())

    def generation_speed(self, model: str, recent: int = 20) -> float | None:
        """Output tokens per second of generation over the model's recent runs; None if unmeasured."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT generate_tokens, generate_seconds FROM runs WHERE model = ? "
                "AND generate_seconds > 0 ORDER BY created DESC LIMIT ?",
                (model, recent),
            ).fetchall()
        tokens, seconds = sum(r[0] for r in rows), sum(r[1] for r in rows)
        return tokens / seconds if tokens and seconds > 0 else None

    # Batches

    def create_batch(self, label: str, config: dict[str, Any]) -> str:
        batch_id = uuid.uuid4().hex[:12]
        with self._connect() as db:
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, 'running', '', ?)",
                (batch_id, time.time(), label, json.dumps(config), os.getpid()),
            )
        return batch_id

    def add_batch_row(
        self, batch_id: str, row: BatchRow, run_id: str | None = None, seq: int | None = None
    ) -> None:
        """Store one finished row; `seq` is its cell's place in the batch (default: the next)."""
        with self._connect() as db:
            if seq is None:
                (seq,) = db.execute(
                    "SELECT COUNT(*) FROM batch_rows WHERE batch_id = ?", (batch_id,)
                ).fetchone()
            db.execute(
                f"INSERT INTO batch_rows VALUES ({','.join('?' * 15)})",
                _row_values(batch_id, seq, row, run_id),
            )

    def batch(self, batch_id: str) -> BatchInfo:
        """One stored batch; KeyError if there is none with this id."""
        info = next((b for b in self.list_batches() if b.batch_id == batch_id), None)
        if info is None:
            raise KeyError(f"no stored batch {batch_id!r}")
        return info

    def reopen_batch(self, batch_id: str) -> None:
        """Mark a stored batch as running again, in this process (to resume it).

        Raises KeyError for an unknown batch, ValueError for one still running."""
        if self.batch(batch_id).status == "running":
            raise ValueError(f"batch {batch_id} is still running")
        with self._connect() as db:
            db.execute(
                "UPDATE batches SET status = 'running', message = '', pid = ? WHERE batch_id = ?",
                (os.getpid(), batch_id),
            )

    def batch_seqs(self, batch_id: str) -> list[int]:
        """The cells of the batch that have a stored row, by their place in the batch."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT seq FROM batch_rows WHERE batch_id = ? ORDER BY seq", (batch_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def finish_batch(self, batch_id: str, status: str, message: str = "") -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE batches SET status = ?, message = ? WHERE batch_id = ?",
                (status, message, batch_id),
            )

    def list_batches(self) -> list[BatchInfo]:
        """Newest first, with their row counts."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT b.batch_id, b.created, b.label, b.config, b.status, b.message, "
                "(SELECT COUNT(*) FROM batch_rows r WHERE r.batch_id = b.batch_id), b.pid "
                "FROM batches b ORDER BY b.created DESC"
            ).fetchall()
        out = []
        for r in rows:
            status, message = r[4], r[5]
            if status == "running" and not _alive(r[7]):
                status = "interrupted"
                message = "the app stopped before this batch finished; its stored rows are kept"
            out.append(BatchInfo(r[0], r[1], r[2], json.loads(r[3]), status, message, r[6]))
        return out

    def batch_backends(self) -> dict[str, tuple[str, str]]:
        """(model, verifier) of each batch's stored runs, by batch id (a batch has one backend)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT b.batch_id, r.model, r.verifier FROM batch_rows b "
                "JOIN runs r ON r.run_id = b.run_id"
            ).fetchall()
        return {batch_id: (model, verifier) for batch_id, model, verifier in rows}

    def load_batch_rows(self, batch_id: str) -> list[BatchRow]:
        """The batch's rows in run order (events stay in the runs table; see `batch_run_ids`)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT problem_id, difficulty, strategy, budget, answer, correct, input_tokens, "
                "output_tokens, seconds, cost_usd, finish, any_correct FROM batch_rows "
                "WHERE batch_id = ? ORDER BY seq",
                (batch_id,),
            ).fetchall()
        return [BatchRow(*r[:5], _bool(r[5]), *r[6:11], _bool(r[11])) for r in rows]

    def batch_run_ids(self, batch_id: str) -> list[str | None]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id FROM batch_rows WHERE batch_id = ? ORDER BY seq", (batch_id,)
            ).fetchall()
        return [r[0] for r in rows]
