"""One way in to every problem source, for the UI and the command line."""

from __future__ import annotations

from typing import Any

from core.problems.base import Problem
from core.problems.curated import curated_problems
from core.problems.generated import DATASETS, generated_problem, generated_problems

PROBLEM_SETS = ("curated", *DATASETS)


def load_problem_set(name: str, *, seed: int = 0, size: int = 20) -> list[Problem]:
    """The named set; the curated set is fixed, so it ignores seed and size."""
    if name == "curated":
        return curated_problems()
    if name not in DATASETS:
        raise ValueError(f"unknown problem set {name!r}: choose one of {', '.join(PROBLEM_SETS)}")
    return generated_problems(name, seed, size)


def _spec_error(spec: str, why: str) -> ValueError:
    return ValueError(
        f"cannot read problem {spec!r}: {why}. Write curated:<id> (e.g. curated:c07) or "
        f"<dataset>:<seed>:<index> (e.g. gsm_symbolic:0:3) with a dataset from {', '.join(DATASETS)}"
    )


def find_problem(spec: str) -> Problem:
    """A problem from a spec such as "curated:c07" or "gsm_symbolic:3:5" (dataset:seed:index)."""
    name, _, rest = spec.strip().partition(":")
    if name == "curated":
        for problem in curated_problems():
            if problem.id == rest:
                return problem
        ids = [p.id for p in curated_problems()]
        raise _spec_error(spec, f"the curated ids run from {ids[0]} to {ids[-1]}")
    if name not in DATASETS:
        raise _spec_error(spec, f"unknown problem set {name!r}")
    seed, _, index = rest.partition(":")
    if not all(part.isascii() and part.isdigit() for part in (seed, index)):
        raise _spec_error(spec, "the seed and the index must be whole numbers >= 0")
    return generated_problem(name, int(seed), int(index))


def custom_problem(question: str, answer: str | None = None) -> Problem:
    """A problem typed by the user; a blank answer means there is nothing to grade against."""
    answer = answer.strip() if answer else None
    return Problem(id="custom", question=question.strip(), answer=answer or None)


def problem_record(problem: Problem) -> dict[str, Any]:
    """What rebuilds `problem` later (a stored batch resuming): its spec for a built-in set, or
    its fields for an uploaded or typed one. Shape: {"spec": "curated:c07"} or the fields."""
    if problem.source == "curated":
        return {"spec": f"curated:{problem.id}"}
    if problem.source.startswith("reasoning-gym:"):
        return {"spec": problem.id}  # dataset:seed:index
    names = ("id", "question", "answer", "difficulty", "source", "answer_format")
    return {name: getattr(problem, name) for name in names}


def problem_from_record(record: dict[str, Any]) -> Problem:
    """The problem a `problem_record` describes; ValueError if it no longer exists."""
    if "spec" in record:
        return find_problem(record["spec"])
    return Problem(**record)
