"""Batches shipped with the app: measured runs the cost page shows on a fresh install.

A shipped batch is a folder, recordings/batches/<name>/, holding every run's event stream
(`events.jsonl`, or `events.jsonl.gz` when large; the file `batch --events` writes) and
`about.json` (batch id, date, model, the exact command, a note on the machine). On start the app
imports each into the user's run store once, under its fixed batch id: the runs (source
"recorded", for Replay) and one row per run, rebuilt from its events as a batch builds it.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from core.events import Event, RunStarted, from_json_lines
from core.problems.base import Problem
from core.problems.catalog import find_problem
from deliberate.audit import split_runs
from deliberate.batch import BatchRow, row_from_events
from deliberate.recordings import RECORDINGS_DIR
from deliberate.runstore import RunStore

SHIPPED_ENV = "DELIBERATE_SHIPPED_BATCHES"  # another folder of shipped batches; "" for none
ABOUT = "about.json"
EVENTS = ("events.jsonl", "events.jsonl.gz")
ABOUT_FIELDS = ("batch_id", "date", "model", "command", "machine")


@dataclass(frozen=True)
class ShippedBatch:
    folder: Path
    about: dict[str, Any]  # at least ABOUT_FIELDS; date as YYYY-MM-DD

    @property
    def batch_id(self) -> str:
        return str(self.about["batch_id"])

    @property
    def label(self) -> str:
        """What the batch selector shows: "Recorded with M on D: <command>"."""
        about = self.about
        return f"Recorded with {about['model']} on {about['date']}: {about['command']}"

    @property
    def created(self) -> float:
        """The recording date as Unix time (local midnight), so the user's batches sort first."""
        return datetime.fromisoformat(str(self.about["date"])).timestamp()

    def events(self) -> list[Event]:
        """Every run's events, in batch order; ValueError naming a bad line."""
        for name in EVENTS:
            path = self.folder / name
            if path.exists():
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8") as file:
                    return from_json_lines(file.read().splitlines())
        raise ValueError(f"{self.folder} holds neither {' nor '.join(EVENTS)}")


def shipped_dir() -> Path | None:
    """recordings/batches, or the folder DELIBERATE_SHIPPED_BATCHES names; None if it is ""."""
    chosen = os.environ.get(SHIPPED_ENV)
    if chosen is None:
        return RECORDINGS_DIR / "batches"
    return Path(chosen) if chosen else None


def shipped_batches(directory: Path | None = None) -> list[ShippedBatch]:
    """The shipped batch folders (each with an about.json) in `directory` (default:
    `shipped_dir()`), by name; ValueError for an about.json that is not JSON or lacks one of
    ABOUT_FIELDS."""
    directory = shipped_dir() if directory is None else directory
    if directory is None or not directory.is_dir():
        return []
    out = []
    for about_path in sorted(directory.glob(f"*/{ABOUT}")):
        try:
            about = json.loads(about_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{about_path}: not JSON ({exc})") from None
        missing = [name for name in ABOUT_FIELDS if name not in about]
        if missing:
            raise ValueError(f"{about_path}: missing {', '.join(missing)}")
        out.append(ShippedBatch(about_path.parent, about))
    return out


@cache
def _known_problem(spec: str) -> Problem | None:
    try:
        return find_problem(spec)
    except ValueError:
        return None


def rebuild_problem(started: RunStarted) -> Problem:
    """The problem a run was made for, from its RunStarted: the built-in problem with this id
    (curated "c07", generated "gsm_symbolic:0:3") when its question and reference are the run's,
    else a problem with the run's question and reference (difficulty unknown)."""
    problem_id = started.problem_id
    spec = problem_id if ":" in problem_id else f"curated:{problem_id}"
    known = _known_problem(spec) if problem_id else None
    if known is not None and (known.question, known.answer) == (
        started.question,
        started.reference,
    ):
        return known
    return Problem(id=problem_id or "custom", question=started.question, answer=started.reference)


def rows_from_runs(runs: Sequence[Sequence[Event]]) -> list[BatchRow]:
    """One batch row per run, as `deliberate.sweep` builds it (budget: the run's N)."""
    rows = []
    for run in runs:
        started = run[0]
        assert isinstance(started, RunStarted)  # split_runs starts every run with one
        n = int(started.budget.get("n", 1))
        rows.append(row_from_events(rebuild_problem(started), started.strategy, n, run))
    return rows


def batch_config(runs: Sequence[Sequence[Event]], about: dict[str, Any]) -> dict[str, Any]:
    """The stored batch's config: its problems, strategies and budgets, and `recorded` (the
    about.json). It has no problem records, so the cost page offers no resume."""
    started = [run[0] for run in runs if isinstance(run[0], RunStarted)]
    return {
        "problems": list(dict.fromkeys(s.problem_id for s in started)),
        "strategies": list(dict.fromkeys(s.strategy for s in started)),
        "budgets": sorted({int(s.budget.get("n", 1)) for s in started}),
        "recorded": about,
    }


def import_shipped(store: RunStore, shipped: ShippedBatch) -> bool:
    """Import one shipped batch into `store`, in one transaction, unless its batch id is there
    already; returns whether it did."""
    if any(b.batch_id == shipped.batch_id for b in store.list_batches()):
        return False
    runs = split_runs(shipped.events())
    config = batch_config(runs, shipped.about)
    pairs = list(zip(runs, rows_from_runs(runs), strict=True))
    try:
        store.save_batch(shipped.batch_id, shipped.label, config, pairs, shipped.created)
    except sqlite3.IntegrityError:  # another process imported it meanwhile
        return False
    return True


def import_all(store: RunStore, directory: Path | None = None) -> list[str]:
    """Import every shipped batch not yet in `store`; returns the batch ids imported."""
    return [s.batch_id for s in shipped_batches(directory) if import_shipped(store, s)]
