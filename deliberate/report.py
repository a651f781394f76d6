"""Plain-text views of a run for the terminal: the tree, the chosen answer, the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from core.events import NO_ANSWER, ROOT
from core.ledger import Ledger, format_dollars
from core.tree import ReasoningTree
from deliberate.batch import Summary

PREVIEW = 110  # characters of a step shown per line; --full shows everything


def format_tree(tree: ReasoningTree, full: bool = False) -> str:
    g = tree.graph
    chosen = set(tree.chosen_path())
    lines = [f"PROBLEM: {g.nodes[ROOT]['text']}"]

    def walk(node: str, indent: int) -> None:
        for child in g.successors(node):
            data = g.nodes[child]
            score = "  -  " if data["score"] is None else f"{data['score']:.2f}"
            marks = []
            if child in chosen:
                marks.append("*")
            if data["pruned"]:
                marks.append("pruned")
            if data["visits"]:
                marks.append(f"visits={data['visits']} value={data['value']:.2f}")
            if data["answer"] is not None:
                marks.append(f"answer={data['answer']}")
            text = " ".join(data["text"].split()) or "(empty)"
            if not full and len(text) > PREVIEW:
                text = text[: PREVIEW - 3] + "..."
            mark = f" [{', '.join(marks)}]" if marks else ""
            lines.append(f"{'  ' * indent}{child} ({data['role']}, {score}){mark} {text}")
            walk(child, indent + 1)

    walk(ROOT, 1)
    if tree.chosen is not None:
        verdict = {True: "correct", False: "wrong", None: "unknown (no reference)"}
        if tree.chosen.answer is None:
            verdict[False] = "unsolved"
        answer = NO_ANSWER if tree.chosen.answer is None else tree.chosen.answer
        lines.append(f"ANSWER: {answer} ({verdict[tree.chosen.correct]}; {tree.chosen.method})")
    if tree.finished is not None:
        lines.append(f"FINISHED: {tree.finished.reason}: {tree.finished.message}")
    return "\n".join(lines)


def format_ledger(ledger: Ledger) -> str:
    lines = ["role      calls  input  output  seconds  cost"]
    for name, totals in [*sorted(ledger.roles.items()), ("total", ledger.total)]:
        lines.append(
            f"{name:<9}{totals.calls:>6}{totals.input_tokens:>7}{totals.output_tokens:>8}"
            f"{totals.seconds:>9.2f}  {format_dollars(totals.cost_usd)}"
        )
    return "\n".join(lines)


def format_summary(summaries: Sequence[Summary]) -> str:
    lines = [
        "strategy           budget  solved  accuracy  pass@N  no answer  out-tokens  seconds  "
        "cost/solved"
    ]
    for s in summaries:
        accuracy = "n/a" if s.accuracy is None else f"{s.accuracy:.0%}"
        lines.append(
            f"{s.strategy:<19}{s.budget:>6}{s.solved:>5}/{s.problems:<3}{accuracy:>8}"
            f"{'n/a' if s.pass_at_n is None else f'{s.pass_at_n:.0%}':>8}"
            f"{s.unanswered:>11}"
            f"{s.mean_output_tokens:>11.0f}{s.mean_seconds:>9.1f}  "
            f"{format_dollars(s.cost_per_solved_usd) if s.solved else 'undefined (none solved)'}"
        )
    return "\n".join(lines)
