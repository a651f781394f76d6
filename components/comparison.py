"""System 1 vs System 2 in plain words, computed from the two runs' event streams."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.events import NO_ANSWER, ROOT, Event
from core.ledger import Ledger, format_dollars
from core.tree import ReasoningTree


@dataclass(frozen=True)
class RunFacts:
    strategy: str
    model: str
    steps: int
    branches: int
    scored: int
    pruned_by_depth: dict[int, int]
    answer: str | None
    correct: bool | None
    output_tokens: int
    seconds: float
    cost_usd: float | None
    finish: str

    @property
    def pruned(self) -> int:
        return sum(self.pruned_by_depth.values())


def run_facts(events: Sequence[Event]) -> RunFacts:
    tree = ReasoningTree.from_events(events)
    ledger = Ledger.from_events(events).total
    g = tree.graph
    nodes = [n for n in g if n != ROOT]
    pruned = Counter(g.nodes[n]["depth"] for n in nodes if g.nodes[n]["pruned"])
    return RunFacts(
        strategy=tree.started.strategy if tree.started else "unknown",
        model=tree.started.model if tree.started else "unknown",
        steps=len(nodes),
        branches=len(tree.leaves()),
        scored=sum(g.nodes[n]["score"] is not None for n in nodes),
        pruned_by_depth=dict(sorted(pruned.items())),
        answer=tree.chosen.answer if tree.chosen else None,
        correct=tree.chosen.correct if tree.chosen else None,
        output_tokens=ledger.output_tokens,
        seconds=ledger.seconds,
        cost_usd=ledger.cost_usd,
        finish=tree.finished.reason if tree.finished else "running",
    )


def _times(a: float, b: float) -> str:
    """How many times `a` is `b`, rounded the way people say it."""
    ratio = a / b
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def _answer(facts: RunFacts) -> str:
    if facts.answer is None:
        return f"gave {NO_ANSWER} (counted as unsolved)"
    grade = {
        True: "which is right",
        False: "which is wrong",
        None: "(no reference to check it against)",
    }
    return f"answered {facts.answer}, {grade[facts.correct]}"


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _searched(s2: RunFacts) -> str:
    name = s2.strategy.replace("_", " ")
    text = (
        f"What System 2 searched: {name} wrote {_plural(s2.steps, 'step')} (each one a model call) "
        f"ending in {_plural(s2.branches, 'branch', 'branches')}, and the verifier scored {s2.scored} of them."
    )
    if s2.pruned:
        where = ", ".join(
            f"{count} at depth {depth}" for depth, count in s2.pruned_by_depth.items()
        )
        text += f" It cut {_plural(s2.pruned, 'branch', 'branches')} as unpromising ({where})."
    else:
        text += " It cut no branch."
    return text


def _verdict(s1: RunFacts, s2: RunFacts, tokens: str) -> str:
    if s1.correct is None or s2.correct is None:
        return (
            f"Without a reference answer neither can be graded; System 2 used {tokens} the tokens."
        )
    if s2.correct and not s1.correct:
        return f"System 2 used {tokens} the tokens and got it right, where System 1 was wrong."
    if s2.correct and s1.correct:
        return (
            f"Both got it right, so System 2's {tokens} the tokens bought nothing here: "
            "when System 1 already knows, the quick answer is the better buy."
        )
    if s1.correct:
        return (
            f"System 2 used {tokens} the tokens and still got it wrong, while System 1 was right."
        )
    return f"Both got it wrong; System 2's {tokens} the tokens did not help on this one."


def build_comparison_summary(system_1: Sequence[Event], system_2: Sequence[Event]) -> list[str]:
    """Sentences a newcomer can follow: the search, the answers, the cost ratio, the verdict."""
    s1, s2 = run_facts(system_1), run_facts(system_2)
    sentences = [
        _searched(s2),
        f"System 1 (answering at once) {_answer(s1)}. System 2 {_answer(s2)}.",
    ]
    if s1.answer is not None and s2.answer is not None:
        same = s1.answer.strip() == s2.answer.strip()
        sentences.append("The answer did not change." if same else "Thinking changed the answer.")
    if s1.output_tokens > 0:
        tokens = _times(s2.output_tokens, s1.output_tokens)
        cost = (
            f"{format_dollars(s2.cost_usd)} against {format_dollars(s1.cost_usd)}"
            if s1.cost_usd is not None and s2.cost_usd is not None
            else "an unknown amount (a price is unknown)"
        )
        sentences.append(
            f"System 2 wrote {s2.output_tokens:,} tokens against System 1's {s1.output_tokens:,} "
            f"({tokens}), took {s2.seconds:.1f} s against {s1.seconds:.1f} s and cost {cost}."
        )
        sentences.append(_verdict(s1, s2, tokens))
    if "stopped" in (s1.finish, s2.finish) or "error" in (s1.finish, s2.finish):
        sentences.append("One run did not finish normally, so this compares partial work.")
    return sentences


def _per_correct(facts: RunFacts) -> str:
    if not facts.correct:
        return "no correct answer to divide by"
    return f"{format_dollars(facts.cost_usd)} per correct answer"


def build_bigger_model_summary(thinking: Sequence[Event], bigger: Sequence[Event]) -> list[str]:
    """A small model thinking against a bigger model answering at once: each one's cost, and
    which is cheaper per correct answer (on this one problem)."""
    small, big = run_facts(thinking), run_facts(bigger)
    name = small.strategy.replace("_", " ")
    sentences = [
        f"The bigger model ({big.model}) answering at once {_answer(big)}; it wrote "
        f"{big.output_tokens:,} tokens in {big.seconds:.1f} s and cost {format_dollars(big.cost_usd)}.",
        f"The small model ({small.model}) thinking with {name} {_answer(small)}; it wrote "
        f"{small.output_tokens:,} tokens in {small.seconds:.1f} s and cost "
        f"{format_dollars(small.cost_usd)}.",
    ]
    if small.correct is None or big.correct is None:
        sentences.append("Without a reference answer, cost per correct answer is not known.")
    elif not small.correct and not big.correct:
        sentences.append("Neither got it right, so neither has a cost per correct answer.")
    elif small.correct != big.correct:
        winner = "the small model thinking" if small.correct else "the bigger model at once"
        sentences.append(f"Only {winner} got it right, so only it has a cost per correct answer.")
    elif small.cost_usd is None or big.cost_usd is None:
        sentences.append(
            "Both got it right, but a price is unknown, so which is cheaper per correct answer "
            "cannot be said in dollars."
        )
    else:
        cheaper = (
            "the small model thinking"
            if small.cost_usd < big.cost_usd
            else "the bigger model at once"
        )
        if small.cost_usd == big.cost_usd:
            cheaper = "neither: they cost the same"
        sentences.append(
            f"Both got it right: {_per_correct(small)} thinking against {_per_correct(big)} at "
            f"once, so the cheaper per correct answer is {cheaper}."
        )
    sentences.append("One problem is one sample: a batch on the cost page gives the rates.")
    return sentences
