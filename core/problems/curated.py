"""A fixed set of word problems, from one-step sums to multi-step traps."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from core.problems.base import Problem
from core.problems.jsonl import load_jsonl

CURATED_PATH = Path(__file__).with_name("curated.jsonl")


@cache
def _curated() -> tuple[Problem, ...]:
    return tuple(load_jsonl(CURATED_PATH, source="curated"))


def curated_problems() -> list[Problem]:
    return list(_curated())
