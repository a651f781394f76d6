"""How far to trust a verifier, measured on runs already made: for each verifier, pass@N,
selection accuracy, the AUROC of answer scores against correctness, and the runs where it rated
a wrong answer above a right one. Stored answers can be re-scored by another verifier without
generating again, so comparing verifiers costs no generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.events import AnswerChosen, Event, NodeAdded, RunStarted
from core.providers.base import STEP_STOP, Completion
from core.tree import ReasoningTree
from core.verifiers.aggregate import aggregate
from core.verifiers.base import StepConfidence, Verifier
from core.verifiers.grading import answers_match
from strategies.scoring import PER_CALL

NOT_RECORDED = "the run recorded no confidence for this step (its verifier read none)"


@dataclass(frozen=True)
class Candidate:
    """One answer a run wrote: its path's score from the verifier, and whether it is right."""

    run_id: str
    node_id: str
    answer: str
    score: float
    correct: bool


@dataclass(frozen=True)
class VerifierAudit:
    verifier: str
    runs: int  # runs with a reference answer and at least one answer written
    pass_at_n: float  # some answer written was right
    selection_accuracy: float | None  # chose a right answer, when one existed
    auroc: float | None  # P(a right answer outscores a wrong one); None without both kinds
    inversions: tuple[str, ...]  # run ids where a wrong answer outscored every right one


def split_runs(events: Iterable[Event]) -> list[list[Event]]:
    """A stream of many runs (a batch's JSONL) cut into runs at each RunStarted."""
    runs: list[list[Event]] = []
    for event in events:
        if isinstance(event, RunStarted) or not runs:
            runs.append([])
        runs[-1].append(event)
    return [run for run in runs if run and isinstance(run[0], RunStarted)]


def candidates(
    run: Sequence[Event], verifier: Verifier | None = None, spent: list[Completion] | None = None
) -> list[Candidate]:
    """Every answer the run wrote, scored as the run scored it, or re-scored by `verifier`
    (each step of the answer's path, aggregated by the run's own aggregation). The model calls
    a re-scoring verifier makes go into `spent`, when given, for their cost."""
    started = run[0]
    assert isinstance(started, RunStarted)
    if started.reference is None:
        return []
    tree = ReasoningTree.from_events(run)
    how = str(started.budget.get("aggregation", "min"))
    out = []
    for event in run:
        if not isinstance(event, NodeAdded) or event.answer is None:
            continue
        if verifier is None:
            scores = [
                tree.graph.nodes[n]["score"]
                for n in tree.path(event.node_id)
                if tree.graph.nodes[n]["score"] is not None
            ]
        else:
            steps: list[str] = []
            confidences: list[StepConfidence] = []  # each node's recorded one at its last step
            for n in tree.path(event.node_id):
                parts = [s for s in tree.graph.nodes[n]["text"].split(STEP_STOP) if s.strip()]
                recorded = tree.graph.nodes[n].get("confidence")
                last = NOT_RECORDED if recorded is None else recorded
                steps += parts
                confidences += [PER_CALL] * (len(parts) - 1) + [last] * bool(parts)
            paths = [steps[: i + 1] for i in range(len(steps))]
            scored = verifier.score_confident(started.question, paths, confidences)
            if spent is not None:
                spent += scored.calls
            scores = [s for s in scored.scores if s is not None]  # unavailable: unscored
        score = aggregate(scores, how) if scores else 0.0
        correct = answers_match(event.answer, started.reference)
        out.append(Candidate(started.run_id, event.node_id, event.answer, score, correct))
    return out


def auroc(pairs: Sequence[tuple[float, bool]]) -> float | None:
    """Area under the ROC curve of scores against correctness (ties count half)."""
    right = [s for s, ok in pairs if ok]
    wrong = [s for s, ok in pairs if not ok]
    if not right or not wrong:
        return None
    wins = sum(1.0 if r > w else 0.5 if r == w else 0.0 for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def audit(
    runs: Sequence[Sequence[Event]], name: str, verifier: Verifier | None = None
) -> VerifierAudit:
    """Audit the runs' own verifier (`verifier` None) or re-score their answers with another."""
    chose_right = runs_counted = any_right = 0
    pairs: list[tuple[float, bool]] = []
    inversions = []
    for run in runs:
        found = candidates(run, verifier)
        if not found:
            continue
        runs_counted += 1
        right = [c for c in found if c.correct]
        wrong = [c for c in found if not c.correct]
        pairs += [(c.score, c.correct) for c in found]
        if right:
            any_right += 1
            best = max(found, key=lambda c: c.score)
            if verifier is None:
                chosen = next((e for e in run if isinstance(e, AnswerChosen)), None)
                picked = chosen is not None and any(c.node_id == chosen.node_id for c in right)
            else:
                picked = best.correct
            chose_right += picked
            if wrong and max(c.score for c in wrong) > max(c.score for c in right):
                inversions.append(found[0].run_id)
    return VerifierAudit(
        verifier=name,
        runs=runs_counted,
        pass_at_n=any_right / runs_counted if runs_counted else 0.0,
        selection_accuracy=chose_right / any_right if any_right else None,
        auroc=auroc(pairs),
        inversions=tuple(inversions),
    )


def format_audit(audits: Sequence[VerifierAudit]) -> str:
    lines = ["verifier        runs  pass@N  selection  AUROC  wrong above right (runs)"]
    for a in audits:
        selection = "n/a" if a.selection_accuracy is None else f"{a.selection_accuracy:.0%}"
        area = "n/a" if a.auroc is None else f"{a.auroc:.2f}"
        shown = ", ".join(a.inversions[:5]) + (" ..." if len(a.inversions) > 5 else "")
        lines.append(
            f"{a.verifier:<15}{a.runs:>5}{a.pass_at_n:>8.0%}{selection:>11}{area:>7}  "
            f"{len(a.inversions)} {shown}"
        )
    return "\n".join(lines)
