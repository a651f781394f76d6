"""What the model is writing right now: the growing text of every branch being written, the
last finished steps with their scores, a short label per node, a plain-words progress line and
the run's outcome.

Pure `build_*` / `*_lines` / label functions over a ReasoningTree, and a thin `render_live_text`.
Model text is shown only as "text" lines (st.text, never Markdown); status lines escape it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.text import Line, plain_markdown, render_lines
from core.events import NO_ANSWER, ROOT
from core.tree import ReasoningTree

TAIL_CHARS = 280  # of a branch being written: the newest words, which is where the eye goes
RECENT_STEPS = 3
GRADES = {True: "correct", False: "wrong", None: "correctness unknown (no reference answer)"}
LABEL_CHARS = 22
# A calculation as the models write it: "48 / 2 = 24", "$1,200 × 3 = $3,600", "\( 2S = 118 \)".
_CALCULATION = re.compile(
    r"[$€£]?\d[\d,.]*\s*(?:[-+×x*/÷]|\\times|\\div|\\cdot)\s*[$€£]?\d[\d,.]*"
    r"(?:\s*(?:[-+×x*/÷]|\\times|\\div|\\cdot)\s*[$€£]?\d[\d,.]*)*\s*=\s*[$€£]?-?\d[\d,.]*"
)
_LATEX = re.compile(r"\\[()\[\]]|\\(?:text|mathrm)\{([^{}]*)\}|\\boxed\{([^{}]*)\}|[*#$]")


@dataclass(frozen=True)
class LiveEntry:
    node_id: str
    depth: int
    text: str  # for a branch being written, its newest words
    score: float | None = None
    thinking: bool = False  # the text is the model's thinking: it has written no answer yet
    waiting: bool = False  # written; its batched call is still writing other branches


def node_label(text: str, writing: bool = False) -> str:
    """A label readable without clicking: the step's last calculation, else its first words.
    A branch being written shows its first words: they stay put while it grows (its newest
    words are in the panel beside the tree), so the tree is not redrawn for every word."""
    plain = " ".join(_LATEX.sub(lambda m: m.group(1) or m.group(2) or "", text).split())
    calculations = [] if writing else _CALCULATION.findall(plain)
    label = " ".join(calculations[-1].split()) if calculations else plain
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def thinking_caption(node: dict[str, object]) -> str:
    """What a node's `thinking` is: streamed words while it is written, else what the provider
    returned (Anthropic and OpenAI return a summary; a reasoning server its whole thinking)."""
    if node.get("interrupted"):
        return "Its thinking until the run stopped, mid-call"
    if node.get("written"):
        return "Its thinking, as the model wrote it"
    if node.get("writing"):
        return (
            "Its thinking so far, as the model writes it (no answer yet)"
            if not node["text"]
            else "Its thinking, as the model wrote it before answering"
        )
    return "Its thinking, as the provider returned it (in full, or the provider's summary)"


def build_live_text(tree: ReasoningTree) -> tuple[list[LiveEntry], list[LiveEntry]]:
    """(branches being written now, newest first; the last finished steps with their scores)."""
    g = tree.graph
    writing = [
        LiveEntry(n, g.nodes[n]["depth"], _tail(g.nodes[n]["text"]))
        if g.nodes[n]["text"].strip() or not g.nodes[n]["thinking"].strip()
        else LiveEntry(n, g.nodes[n]["depth"], _tail(g.nodes[n]["thinking"]), thinking=True)
        for n in reversed(tree.writing())
    ]
    finished = [
        n
        for n, data in g.nodes(data=True)
        if n != ROOT
        and not data.get("writing")
        and (data["text"] or (data.get("written") and data["thinking"]))
    ]
    recent = [
        LiveEntry(
            n,
            g.nodes[n]["depth"],
            _tail(g.nodes[n]["text"] or g.nodes[n]["thinking"]),
            g.nodes[n]["score"],
            thinking=not g.nodes[n]["text"],
            waiting=bool(g.nodes[n].get("written")),
        )
        for n in reversed(finished[-RECENT_STEPS:])
    ]
    return writing, recent


def progress_line(tree: ReasoningTree) -> str:
    """The plain-words state of the deepest level: "depth 2: 4 branches writing, 2 scored, 1 cut"."""
    g = tree.graph
    depth = max((d for n, d in g.nodes(data="depth") if n != ROOT), default=0)
    if depth == 0:
        return ""
    level = [g.nodes[n] for n in g if n != ROOT and g.nodes[n]["depth"] == depth]
    writing = sum(1 for d in level if d.get("writing"))
    scored = sum(1 for d in level if d["score"] is not None)
    cut = sum(1 for d in level if d["pruned"])
    parts = [f"{writing} branch{'es' if writing != 1 else ''} writing"] if writing else []
    parts += [f"{len(level) - writing} written"] if len(level) > writing else []
    parts += [f"{scored} scored"] if scored else []
    parts += [f"{cut} cut"] if cut else []
    return f"depth {depth}: " + ", ".join(parts)


def outcome_lines(tree: ReasoningTree) -> list[Line]:
    """The run's state in plain words (running, failed, stopped, capped, finished), then its
    answer."""
    if tree.finished is None:
        status, progress = tree.status or "starting", progress_line(tree)
        level, _, counts = progress.partition(": ")
        if status.startswith(f"{level}:"):  # the strategy already named the level
            progress = counts
        said = f"Running: {status}" + (f" · now {progress}" if progress else "")
        lines: list[Line] = [("info", plain_markdown(said))]
    elif tree.finished.reason == "error":
        lines = [("error", plain_markdown(f"The run failed: {tree.finished.message}"))]
    elif tree.finished.reason == "stopped":
        said = f"{tree.finished.message}. The tree and costs so far are kept."
        lines = [("warning", plain_markdown(said))]
    elif tree.finished.reason in ("token_cap", "spend_cap"):
        lines = [("warning", plain_markdown(tree.finished.message))]
    else:
        lines = [("success", plain_markdown(f"Finished: {tree.finished.message}"))]
    if tree.chosen is not None:
        answer, grade = tree.chosen.answer, GRADES[tree.chosen.correct]
        if answer is None:
            answer, grade = NO_ANSWER, "unsolved" if tree.chosen.correct is False else grade
        lines.append(("text", f"Answer: {answer}   ·   {grade}   ·   {tree.chosen.method}"))
    return lines


def _tail(text: str) -> str:
    text = text.strip()
    if len(text) <= TAIL_CHARS:
        return text
    return "…" + text[-TAIL_CHARS:].split(" ", 1)[-1]


def live_text_lines(tree: ReasoningTree) -> list[Line]:
    """The panel beside the tree: what is being written now, then the last finished steps."""
    writing, recent = build_live_text(tree)
    lines: list[Line] = []
    if writing:
        lines.append(("markdown", f"**Being written now** ({len(writing)})"))
        for entry in writing:
            thinking = " · thinking (not yet answering)" if entry.thinking else ""
            lines.append(("caption", f"{entry.node_id} · depth {entry.depth}{thinking}"))
            lines.append(("text", entry.text or "…"))
    elif tree.finished is None:
        lines.append(("caption", "Waiting for the model's first words…"))
    if recent:
        lines.append(("markdown", "**Last finished steps**"))
        for entry in recent:
            score = "not scored" if entry.score is None else f"PRM {entry.score:.2f}"
            if entry.waiting:
                score = (
                    "written in full; the run ended before its call returned"
                    if tree.finished is not None
                    else "written · the rest of its batch is still being written"
                )
            if entry.thinking:
                score += " · thinking only, no answer"
            lines.append(("caption", f"{entry.node_id} · depth {entry.depth} · {score}"))
            lines.append(("text", entry.text))
    return lines


def render_live_text(tree: ReasoningTree) -> None:
    render_lines(live_text_lines(tree))
