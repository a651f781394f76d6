"""Every prune, selection, difficulty judgement and final choice in one plain sentence, built from the events:
"step 2 (n5) claims 48 / 2 = 25; the checker computes 24, so this branch was cut".

Pure: `explain(events)` folds a run's events into sentences, oldest first; `render_explanations`
shows the newest. Sentences quote model text, so they are shown with st.text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from components.text import Line, render_lines
from core.events import AnswerChosen, DifficultyJudged, Event, NodePruned, NodeSelected
from core.tree import ReasoningTree

SHOWN = 6
_WRONG = re.compile(r"wrong: (.+?) \(is ([^)]+)\)")
_ROUTINE = re.compile(r"^kept at depth|best at depth|^subtree \d+: best")  # beam bookkeeping


def _because(data: dict) -> str:
    detail = data.get("score_detail") or ""
    if match := _WRONG.search(detail):
        return f"claims {match.group(1)}; the checker computes {match.group(2)}"
    if data.get("score") is None:
        return "was not scored"
    why = f" ({detail})" if detail else ""
    return f"scored {data['score']:.2f}{why}"


def sentence(event: Event, tree: ReasoningTree) -> str | None:
    """The sentence for `event`, read against `tree` (already folded with it); None for events
    that decide nothing worth saying."""
    match event:
        case NodePruned(node_id=node, reason=reason):
            data = tree.graph.nodes[node]
            cut = f"step {data['depth']} ({node}) {_because(data)}, so this branch was cut"
            return cut + (f" ({reason})" if reason else "")
        case NodeSelected(node_id=node, reason=reason) if not _ROUTINE.search(reason):
            data = tree.graph.nodes[node]
            return f"step {data['depth']} ({node}) {_because(data)}: {reason}"
        case DifficultyJudged(reason=reason):
            return reason
        case AnswerChosen(answer=answer, correct=correct, method=method):
            verdict = {True: "right", False: "wrong", None: "not checkable (no reference)"}
            said = "no answer" if answer is None else f"the answer {answer}"
            return f"chose {said} by {method}; it is {verdict[correct]}"
    return None


def explain(events: Sequence[Event]) -> list[str]:
    """One sentence per prune, notable selection and final choice, oldest first."""
    tree, sentences = ReasoningTree(), []
    for event in events:
        tree.apply(event)
        if (said := sentence(event, tree)) is not None:
            sentences.append(said)
    return sentences


def explanation_lines(sentences: Sequence[str]) -> list[Line]:
    """The newest sentences first, as plain text."""
    if not sentences:
        return []
    return [("markdown", "**Why the search did what it did**")] + [
        ("text", said) for said in sentences[-SHOWN:][::-1]
    ]


def render_explanations(sentences: Sequence[str]) -> None:
    render_lines(explanation_lines(sentences))
