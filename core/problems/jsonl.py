"""Problems from JSON Lines: one {"question": ..., "answer": ...} object per line."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.problems.base import Problem

DIFFICULTIES = ("easy", "medium", "hard", "unknown")


def _answer(value: Any, where: str) -> str | None:
    if value is None:
        return None
    # bool is an int in Python, but `true` is no answer to a word problem
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(
            f'{where}: "answer" must be a string or a number, not {type(value).__name__}'
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f'{where}: "answer" must be a finite number')
    text = str(value).strip()
    return text or None


def _row(row: Any, where: str, default_id: str, source: str) -> Problem:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object {{...}}, got {type(row).__name__}")
    question = row.get("question")
    if question is None:
        raise ValueError(f'{where}: missing "question"')
    if not isinstance(question, str):
        raise ValueError(f'{where}: "question" must be a string, not {type(question).__name__}')
    problem_id = row.get("id", default_id)
    if isinstance(problem_id, bool) or not isinstance(problem_id, str | int):
        raise ValueError(f'{where}: "id" must be a string or a number')
    problem_id = str(problem_id).strip()
    if not problem_id:
        raise ValueError(f'{where}: "id" is empty')
    difficulty = row.get("difficulty", "unknown")
    if isinstance(difficulty, str):
        difficulty = difficulty.strip().lower()
    if difficulty not in DIFFICULTIES:
        raise ValueError(f'{where}: "difficulty" must be one of {", ".join(DIFFICULTIES)}')
    try:
        return Problem(
            id=problem_id,
            question=question.strip(),
            answer=_answer(row.get("answer"), where),
            difficulty=difficulty,
            source=source,
        )
    except ValueError as error:  # empty or too long: the Problem says which
        raise ValueError(f"{where}: {error}") from None


def _parse(lines: Iterable[str | bytes], source: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        where = f"line {number}"
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"{where}: not UTF-8 text") from None
        line = raw.lstrip("\ufeff").strip()  # a byte-order mark opens some Windows files
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg})") from None
        problem = _row(row, where, f"line-{number}", source)
        if problem.id in seen:
            raise ValueError(f"{where}: duplicate id {problem.id!r}")
        seen.add(problem.id)
        problems.append(problem)
    if not problems:
        raise ValueError('no problems found: expected one {"question": ...} object per line')
    return problems


def load_jsonl(
    source_lines: str | Path | Iterable[str | bytes], *, source: str = "jsonl"
) -> list[Problem]:
    """Problems from a file path or from lines (text or bytes, e.g. an uploaded file)."""
    if isinstance(source_lines, str | Path):
        with Path(source_lines).open("rb") as file:
            return _parse(file, source)
    return _parse(source_lines, source)
