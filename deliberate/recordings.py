"""Recorded runs as JSONL files: the recordings shipped in recordings/ (and the demo deck's pairs
in recordings/deck/), written and read, and any run file checked line by line before use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.events import Event, RunStarted, from_json_lines, to_json_lines
from core.tree import ReasoningTree

# Recorded runs shipped with the repository, so a fresh install has something to replay: single
# runs in recordings/, the demo deck's System 1 / System 2 pairs in recordings/deck/.
RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "recordings"


def recordings(directory: Path = RECORDINGS_DIR) -> list[Path]:
    """The shipped single-run recordings: recordings/*.jsonl, then recordings/deck/*.jsonl."""
    return sorted(directory.glob("*.jsonl")) + sorted((directory / "deck").glob("*.jsonl"))


def load_recording(path: Path) -> list[Event]:
    return from_json_lines(path.read_text(encoding="utf-8").splitlines())


def write_recording(events: Sequence[Event], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json_lines(events), encoding="utf-8")


def parse_run(data: bytes) -> list[Event]:
    """One run's events from a JSONL file (a download, a recording, `--jsonl` output), checked
    whole: every line an event, the first a run_started and no other, and the stream folds into
    a tree. Raises ValueError naming the bad line ("line 7: unknown event type 'Foo'")."""
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start} is not)") from None
    events = from_json_lines(lines)
    numbers = [number for number, line in enumerate(lines, start=1) if line.strip()]
    if not events:
        raise ValueError("the file holds no events")
    if not isinstance(events[0], RunStarted):
        raise ValueError(f"line {numbers[0]}: a run starts with run_started, not {events[0].kind}")
    tree = ReasoningTree()
    for number, event in zip(numbers, events, strict=True):
        if isinstance(event, RunStarted) and event is not events[0]:
            raise ValueError(f"line {number}: a second run_started (one run per file)")
        try:
            tree.apply(event)
        except ValueError as exc:  # a node that refers to no node, or is added twice
            raise ValueError(f"line {number}: {exc}") from None
    return events
