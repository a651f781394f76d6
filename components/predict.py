"""Predict first (teaching mode): the viewer commits to a guess before the answer is revealed.

On System 1 vs System 2 the guess is made before the runs start (System 2's answer, and whether
it will be right); in Replay the run plays up to the moment of choice, with right and wrong
hidden, and the viewer picks one of the answers on the tree. The reveal compares, in words.
Pure parts: `reveal_index`, `hide_reference`, `candidate_answers`, `build_verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import streamlit as st

from components.text import plain_markdown
from core.events import (
    NO_ANSWER,
    ROOT,
    AnswerChosen,
    Event,
    NodePruned,
    NodeSelected,
    RunStarted,
    Status,
)
from core.tree import ReasoningTree
from core.verifiers.grading import answers_match

RIGHT_OR_WRONG = {True: "right", False: "wrong"}


@dataclass(frozen=True)
class Prediction:
    answer: str | None  # the answer guessed, None for "no answer"; "" when not guessed
    right: bool  # whether the viewer thinks the chosen answer will be right


# What a run does on its way to the final choice: shown before a guess, they would give it away.
_DECIDING = (NodeSelected, NodePruned, Status)


def reveal_index(events: Sequence[Event]) -> int | None:
    """Where a replay held for a guess stops: before the run's final choice (AnswerChosen) and
    the selections, prunes and status lines that lead straight to it."""
    chosen = next((i for i, e in enumerate(events) if isinstance(e, AnswerChosen)), None)
    if chosen is None:
        return None
    while chosen > 0 and isinstance(events[chosen - 1], _DECIDING):
        chosen -= 1
    return chosen


def hide_reference(events: Sequence[Event]) -> list[Event]:
    """The events with the reference answer removed, so no node is marked right or wrong."""
    return [replace(e, reference=None) if isinstance(e, RunStarted) else e for e in events]


def candidate_answers(tree: ReasoningTree) -> list[str]:
    """The distinct answers written on the tree so far, in the order they appeared."""
    seen: dict[str, None] = {}
    for node, answer in tree.graph.nodes(data="answer"):
        if node != ROOT and answer is not None:
            seen.setdefault(answer.strip(), None)
    return list(seen)


def _same(guess: str, answer: str) -> bool:
    return guess.strip() == answer.strip() or answers_match(guess, answer)


def build_verdict(
    prediction: Prediction, chosen: str | None, correct: bool | None, who: str = "System 2"
) -> list[str]:
    """Sentences comparing the guess with what `who` chose: answer first, then right or wrong."""
    sentences = []
    shown = NO_ANSWER if chosen is None else chosen
    if prediction.answer is None:
        outcome = "gave none: you called it" if chosen is None else f"answered {shown}"
        sentences.append(f"You guessed {who} would give no answer; it {outcome}.")
    elif prediction.answer.strip():
        hit = chosen is not None and _same(prediction.answer, chosen)
        sentences.append(
            f"You guessed {who} would answer {prediction.answer.strip()}; it answered {shown}"
            + (": you called it." if hit else ".")
        )
    if correct is None:
        sentences.append(f"There is no reference answer, so whether {who} was right is unknown.")
    else:
        said, was = RIGHT_OR_WRONG[prediction.right], RIGHT_OR_WRONG[correct]
        verdict = "you called it" if prediction.right == correct else "a surprise"
        sentences.append(f"You said it would be {said}; it was {was}: {verdict}.")
    return sentences


def render_prediction_form(key: str, answers: Sequence[str] | None, who: str) -> None:
    """Ask for a guess; once locked in it is kept in session state under `key`.
    `answers`: the answers to choose from (a replay), or None for a free guess (before a run)."""
    with st.container(border=True):
        st.markdown(f"**Predict first: what will {who} do?**")
        if answers is None:
            guess: str | None = st.text_input(
                f"Your guess at {who}'s answer (optional)", key=f"{key}_guess_text"
            )
            picked = True
        else:
            picked = st.radio(
                f"Which answer will {who} choose?",
                [*answers, NO_ANSWER],
                index=None,
                format_func=plain_markdown,  # answers are model text
                key=f"{key}_guess_pick",
            )
            guess = None if picked == NO_ANSWER else picked
        right = st.radio(
            "Will it be right?",
            [True, False],
            format_func=RIGHT_OR_WRONG.get,
            index=None,
            horizontal=True,
            key=f"{key}_guess_right",
        )
        ready = right is not None and picked is not None
        if st.button("Lock in my guess", disabled=not ready, key=f"{key}_lock"):
            st.session_state[key] = Prediction(guess, bool(right))
            st.rerun()


def render_verdict(
    prediction: Prediction, chosen: str | None, correct: bool | None, who: str
) -> None:
    """The reveal: the guess against the outcome, as plain text in a box."""
    st.info(plain_markdown(" ".join(build_verdict(prediction, chosen, correct, who))))
