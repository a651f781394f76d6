"""The demo deck: problems where, measured in a batch, System 2 is right and System 1 is wrong.

`pick_pairs` chooses them from a batch's runs (`batch --events`); `write_deck` ships each pair as
two recordings, recordings/deck/<problem>-system1.jsonl and -system2.jsonl, with an index,
recordings/deck/index.json, that the System 1 vs System 2 page plays from with no model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.events import AnswerChosen, Event, RunStarted
from core.ledger import Ledger
from deliberate.recordings import RECORDINGS_DIR, load_recording, write_recording
from deliberate.shipped import rebuild_problem

DECK_DIR = RECORDINGS_DIR / "deck"
INDEX = "index.json"


@dataclass(frozen=True)
class Side:
    """One side of a pair as the index lists it: its recording and what it measured."""

    file: str  # the recording's name, in the deck folder
    strategy: str
    answer: str
    correct: bool
    output_tokens: int
    seconds: float
    cost_usd: float | None


@dataclass(frozen=True)
class DeckPair:
    problem_id: str
    difficulty: str
    question: str
    reference: str | None
    system_1: Side
    system_2: Side


def _chosen(run: Sequence[Event]) -> AnswerChosen | None:
    return next((e for e in run if isinstance(e, AnswerChosen)), None)


def file_stem(problem_id: str) -> str:
    """A problem id as a file name: "gsm_symbolic:0:3" -> "gsm_symbolic-0-3"."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", problem_id)


def _side(run: Sequence[Event], file: str) -> Side:
    chosen, total = _chosen(run), Ledger.from_events(run).total
    started = run[0]
    assert isinstance(started, RunStarted) and chosen is not None and chosen.answer is not None
    return Side(
        file=file,
        strategy=started.strategy,
        answer=chosen.answer,
        correct=bool(chosen.correct),
        output_tokens=total.output_tokens,
        seconds=round(total.seconds, 3),
        cost_usd=total.cost_usd,
    )


def pick_pairs(
    runs: Sequence[Sequence[Event]],
    system_1: str = "direct",
    system_2: str = "beam_search",
    n: int = 4,
) -> list[tuple[DeckPair, list[Event], list[Event]]]:
    """Per problem (in the runs' order), its first `system_1` run and its first `system_2` run
    at budget `n`, kept when System 2 chose the right answer and System 1 a wrong one (an
    answer, not "no answer": every recording ends with an answer). Returns (index entry, System 1 run, System 2 run)."""
    first: dict[tuple[str, str], list[Event]] = {}
    order: list[str] = []
    for run in runs:
        started = run[0]
        if not isinstance(started, RunStarted):
            continue
        if started.strategy == system_2 and int(started.budget.get("n", 1)) != n:
            continue
        if started.problem_id not in order:
            order.append(started.problem_id)
        first.setdefault((started.problem_id, started.strategy), list(run))
    picked = []
    for problem_id in order:
        one, two = first.get((problem_id, system_1)), first.get((problem_id, system_2))
        if one is None or two is None:
            continue
        chosen_1, chosen_2 = _chosen(one), _chosen(two)
        if chosen_1 is None or chosen_1.answer is None or chosen_1.correct is not False:
            continue
        if chosen_2 is None or chosen_2.answer is None or chosen_2.correct is not True:
            continue
        started = one[0]
        assert isinstance(started, RunStarted)
        stem = file_stem(problem_id)
        pair = DeckPair(
            problem_id=problem_id,
            difficulty=rebuild_problem(started).difficulty,
            question=started.question,
            reference=started.reference,
            system_1=_side(one, f"{stem}-system1.jsonl"),
            system_2=_side(two, f"{stem}-system2.jsonl"),
        )
        picked.append((pair, one, two))
    return picked


def write_deck(
    picked: Sequence[tuple[DeckPair, list[Event], list[Event]]],
    about: dict[str, Any],
    directory: Path = DECK_DIR,
) -> Path:
    """Write the pairs' recordings and the index (replacing any earlier deck's recordings);
    returns the index's path. Shape: {"about": {...}, "pairs": [DeckPair as a dict, ...]}."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.jsonl"):
        old.unlink()
    for pair, one, two in picked:
        write_recording(one, directory / pair.system_1.file)
        write_recording(two, directory / pair.system_2.file)
    index = {"about": about, "pairs": [asdict(pair) for pair, _, _ in picked]}
    path = directory / INDEX
    path.write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_deck(directory: Path | None = None) -> list[DeckPair]:
    """The deck's pairs (default: the shipped deck, DECK_DIR; [] without an index); ValueError
    for an index that is not the shape `write_deck` writes."""
    path = (directory or DECK_DIR) / INDEX
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            DeckPair(**{**p, "system_1": Side(**p["system_1"]), "system_2": Side(**p["system_2"])})
            for p in data["pairs"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a deck index ({exc})") from None


def load_pair(pair: DeckPair, directory: Path | None = None) -> tuple[list[Event], list[Event]]:
    """The System 1 and System 2 recordings of a pair (default: in DECK_DIR); OSError or
    ValueError if unreadable."""
    directory = directory or DECK_DIR
    return (
        load_recording(directory / pair.system_1.file),
        load_recording(directory / pair.system_2.file),
    )
