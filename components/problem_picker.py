"""Choosing problems: one for a run (curated, generated, custom) or a set for a batch."""

from __future__ import annotations

import streamlit as st

from components.remember import kept
from components.text import plain_markdown
from core.problems.base import Problem
from core.problems.catalog import PROBLEM_SETS, custom_problem, find_problem, load_problem_set
from core.problems.jsonl import load_jsonl

SOURCES = ["Curated set", "Generated", "Custom"]
GENERATED_SETS = [name for name in PROBLEM_SETS if name != "curated"]


@st.cache_resource(show_spinner=False)
def _problem_set(name: str, seed: int = 0, size: int = 20) -> list[Problem]:
    return load_problem_set(name, seed=seed, size=size)


@st.cache_resource(show_spinner=False)
def _generated(name: str, seed: int, index: int) -> Problem:
    return find_problem(f"{name}:{seed}:{index}")


def _label(problem: Problem) -> str:
    question = " ".join(problem.question.split())
    return (
        f"{problem.id} · {problem.difficulty} · {question[:90]}{'…' if len(question) > 90 else ''}"
    )


def render_problem_picker(key: str) -> Problem | None:
    """One problem, shown as plain text; None (with the reason shown) when there isn't one yet."""
    source = kept(st.radio, "Problem", SOURCES, horizontal=True, key=f"{key}_source")
    try:
        if source == "Curated set":
            problems = {p.id: p for p in _problem_set("curated")}
            chosen = kept(
                st.selectbox,
                "Curated problem (with difficulty)",
                list(problems),
                format_func=lambda pid: _label(problems[pid]),
                key=f"{key}_curated",
            )
            problem = problems[chosen]
        elif source == "Generated":
            left, middle, right = st.columns([2, 1, 1])
            name = kept(
                left.selectbox,
                "Generated set (reasoning-gym)",
                GENERATED_SETS,
                key=f"{key}_set",
            )
            seed = kept(middle.number_input, "Seed", 0, 1_000_000, 0, key=f"{key}_seed")
            index = kept(right.number_input, "Item", 0, 999, 0, key=f"{key}_index")
            problem = _generated(name, int(seed), int(index))
        else:
            question = kept(st.text_area, "Your problem", key=f"{key}_question", height=100)
            answer = kept(
                st.text_input,
                "Reference answer (optional: without it, correctness is unknown)",
                key=f"{key}_answer",
            )
            if not question.strip():
                st.caption("Type a problem to run.")
                return None
            problem = custom_problem(question, answer)
    except ValueError as exc:
        st.error(plain_markdown(str(exc)))
        return None
    st.text(problem.question)
    st.caption(
        f"Difficulty: {problem.difficulty} · "
        + (
            "has a reference answer"
            if problem.answer
            else "no reference answer: correctness will be unknown"
        )
    )
    return problem


def render_problem_set_picker(key: str) -> list[Problem] | None:
    """A batch's problems: the curated set, a generated set (name, seed, size) or a JSONL upload."""
    source = kept(
        st.radio,
        "Problem set",
        ["Curated set", "Generated set", "Upload JSONL"],
        horizontal=True,
        key=f"{key}_source",
    )
    try:
        if source == "Curated set":
            problems = _problem_set("curated")
            size = kept(
                st.slider,
                "How many problems (spread over the difficulties)",
                1,
                len(problems),
                min(8, len(problems)),
                key=f"{key}_size",
            )
            problems = [problems[i * len(problems) // size] for i in range(size)]
        elif source == "Generated set":
            left, middle, right = st.columns([2, 1, 1])
            name = kept(left.selectbox, "Set", GENERATED_SETS, key=f"{key}_set")
            seed = kept(middle.number_input, "Seed", 0, 1_000_000, 0, key=f"{key}_seed")
            size = kept(right.number_input, "Size", 1, 200, 8, key=f"{key}_size_generated")
            problems = _problem_set(name, int(seed), int(size))
        else:
            upload = st.file_uploader(
                'JSONL: one {"question": ..., "answer": ..., "difficulty": ...} per line',
                type=["jsonl", "json", "txt"],
                key=f"{key}_upload",
            )
            if upload is None:
                return None
            problems = load_jsonl(upload.getvalue().splitlines(), source=upload.name)
    except ValueError as exc:
        st.error(plain_markdown(str(exc)))
        return None
    counts = {d: sum(p.difficulty == d for p in problems) for d in ("easy", "medium", "hard")}
    st.caption(
        f"{len(problems)} problems: "
        + ", ".join(f"{count} {level}" for level, count in counts.items() if count)
    )
    return problems
